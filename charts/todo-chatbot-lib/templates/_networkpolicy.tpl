{{/*
A list of TCP ports as NetworkPolicy ports.
Usage: {{ include "todo-chatbot-lib.netpol.ports" (list 80 443) | trim | nindent 6 }}
*/}}
{{- define "todo-chatbot-lib.netpol.ports" -}}
{{- range . }}
- protocol: TCP
  port: {{ . }}
{{- end }}
{{- end -}}

{{/*
The egress rules to the cluster DNS and the Kubernetes API server, the one place both charts write them:
with `dns` (a NetworkPolicyPeer: the DNS pods) UDP and TCP 53 to it; with `apiServerPorts`, TCP on those
ports to `apiServerCidr` (an ipBlock) or, without it, to any address (DOKS and kind run the API server
outside the pod network). Either part may be left out.
Usage: {{ include "todo-chatbot-lib.netpol.egress" (dict "dns" $dnsPeer "apiServerPorts" (list 443 6443)) | nindent 4 }}
*/}}
{{- define "todo-chatbot-lib.netpol.egress" -}}
{{- with .dns }}
- to:
    - {{- toYaml . | nindent 6 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}
{{- with .apiServerPorts }}
- ports: {{- include "todo-chatbot-lib.netpol.ports" . | trim | nindent 4 }}
  {{- with $.apiServerCidr }}
  to:
    - ipBlock:
        cidr: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}
