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
Egress rules every app pod needs: cluster DNS (networkPolicy.dns), and with a Dapr sidecar the Dapr
control plane, the other sidecars and the trace collector (OTLP).
Usage: {{ include "app.netpol.baseEgress" (dict "root" $ "dapr" true) | nindent 4 }}
*/}}
{{- define "app.netpol.baseEgress" -}}
{{- $np := .root.Values.networkPolicy -}}
{{- $dns := dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $np.dns.namespace)) "podSelector" (dict "matchLabels" $np.dns.podLabels) -}}
{{- include "todo-chatbot-lib.netpol.egress" (dict "dns" $dns) }}
{{- if .dapr }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/part-of: dapr
  ports: {{- include "todo-chatbot-lib.netpol.ports" (include "todo-chatbot-lib.dapr.controlPlanePorts" .root | fromJsonArray) | trim | nindent 4 }}
- to: {{- include "app.netpol.appPeer" .root | nindent 4 }}
  ports: {{- include "todo-chatbot-lib.netpol.ports" (list (include "todo-chatbot-lib.dapr.sidecarPort" .root | int)) | trim | nindent 4 }}
- to:
    - podSelector:
        matchLabels: {{- toYaml $np.tracing.podLabels | nindent 10 }}
  ports: {{- include "todo-chatbot-lib.netpol.ports" $np.tracing.ports | trim | nindent 4 }}
{{- end }}
{{- end -}}
