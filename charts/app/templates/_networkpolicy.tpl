{{/*
Pod ports of the Dapr control plane a sidecar dials: sentry 50001, operator 6500, placement 50005,
scheduler 50006 (targets behind the dapr-sentry, dapr-api, dapr-placement-server, dapr-scheduler Services).
Usage: {{ include "app.netpol.daprControlPlanePorts" . }}
*/}}
{{- define "app.netpol.daprControlPlanePorts" -}}
[50001, 6500, 50005, 50006]
{{- end -}}

{{/*
Peer selecting every pod of the app (components and test pods carry part-of=todo-chatbot).
Usage: {{ include "app.netpol.appPeer" . | nindent 8 }}
*/}}
{{- define "app.netpol.appPeer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/part-of: todo-chatbot
{{- end -}}

{{/*
A list of TCP ports as NetworkPolicy ports.
Usage: {{ include "app.netpol.ports" (list 80 443) | trim | nindent 6 }}
*/}}
{{- define "app.netpol.ports" -}}
{{- range . }}
- protocol: TCP
  port: {{ . }}
{{- end }}
{{- end -}}

{{/*
Egress rules every app pod needs: cluster DNS, and with a Dapr sidecar the Dapr control plane, the other
sidecars (50002) and the trace collector (OTLP).
Usage: {{ include "app.netpol.baseEgress" (dict "root" $ "dapr" true) | nindent 4 }}
*/}}
{{- define "app.netpol.baseEgress" -}}
{{- $np := .root.Values.networkPolicy -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.dns.namespace }}
      podSelector:
        matchLabels: {{- toYaml $np.dns.podLabels | nindent 10 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- if .dapr }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/part-of: dapr
  ports: {{- include "app.netpol.ports" (include "app.netpol.daprControlPlanePorts" .root | fromYamlArray) | trim | nindent 4 }}
- to: {{- include "app.netpol.appPeer" .root | nindent 4 }}
  ports: {{- include "app.netpol.ports" (list 50002) | trim | nindent 4 }}
- to:
    - podSelector:
        matchLabels: {{- toYaml $np.tracing.podLabels | nindent 10 }}
  ports: {{- include "app.netpol.ports" $np.tracing.ports | trim | nindent 4 }}
{{- end }}
{{- end -}}
