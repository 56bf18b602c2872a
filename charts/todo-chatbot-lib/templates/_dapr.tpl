{{/*
Ports of the Dapr control plane pods that every sidecar dials: sentry 50001, operator 6500, placement 50005,
scheduler 50006 (the targets behind the dapr-sentry, dapr-api, dapr-placement-server and dapr-scheduler
Services), as a JSON list. The app chart opens them as egress of its pods, the platform chart as ingress
of the control plane.
Usage: {{ include "todo-chatbot-lib.dapr.controlPlanePorts" . | fromJsonArray }}
*/}}
{{- define "todo-chatbot-lib.dapr.controlPlanePorts" -}}
[50001, 6500, 50005, 50006]
{{- end -}}

{{/*
Port of the sidecars' internal gRPC API: service invocation from one sidecar to another.
Usage: {{ include "todo-chatbot-lib.dapr.sidecarPort" . }}
*/}}
{{- define "todo-chatbot-lib.dapr.sidecarPort" -}}
50002
{{- end -}}
