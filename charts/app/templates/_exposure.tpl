{{/*
Name of the Gateway the chart creates (mode gateway).
Usage: {{ include "app.gatewayName" . }}
*/}}
{{- define "app.gatewayName" -}}
{{- printf "%s-public" (include "todo-chatbot-lib.fullname" .) -}}
{{- end -}}

{{/*
Name of the cert-manager ClusterIssuer of this release and Let's Encrypt environment.
Usage: {{ include "app.clusterIssuerName" . }}
*/}}
{{- define "app.clusterIssuerName" -}}
{{- printf "%s-letsencrypt-%s" (include "todo-chatbot-lib.fullname" .) .Values.tls.issuer -}}
{{- end -}}

{{/*
"true" when public hostnames are routed (exposure.mode gateway or ingress) and the workloads are on.
Usage: {{ if eq (include "app.exposed" .) "true" }}
*/}}
{{- define "app.exposed" -}}
{{- ternary "true" "false" (ne .Values.exposure.mode "none") -}}
{{- end -}}
