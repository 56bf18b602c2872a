{{/*
The Dapr sidecar annotations of a pod: the one place they are written (components and the Dapr test pod).
app-id is the component key; app-port and app-health-check only when the pod serves HTTP (`component.port`).
Usage: {{ include "app.daprAnnotations" (dict "root" $ "name" $name "component" $c) | nindent 8 }}
*/}}
{{- define "app.daprAnnotations" -}}
{{- $dapr := .component.dapr -}}
{{- $sidecar := $dapr.sidecar -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ .name | quote }}
{{- if .component.port }}
dapr.io/app-port: {{ int .component.port | quote }}
dapr.io/app-protocol: {{ $dapr.appProtocol | quote }}
{{- if $dapr.appHealthCheck }}
dapr.io/enable-app-health-check: "true"
dapr.io/app-health-check-path: {{ .component.probes.readiness.path | quote }}
{{- end }}
{{- end }}
dapr.io/config: {{ .root.Values.dapr.config | quote }}
dapr.io/log-level: {{ $dapr.logLevel | quote }}
dapr.io/log-as-json: "true"
dapr.io/enable-metrics: "true"
dapr.io/metrics-port: {{ int .root.Values.dapr.metricsPort | quote }}
dapr.io/sidecar-cpu-request: {{ $sidecar.requests.cpu | quote }}
dapr.io/sidecar-memory-request: {{ $sidecar.requests.memory | quote }}
dapr.io/sidecar-cpu-limit: {{ $sidecar.limits.cpu | quote }}
dapr.io/sidecar-memory-limit: {{ $sidecar.limits.memory | quote }}
dapr.io/env: {{ printf "GOMEMLIMIT=%s" $sidecar.goMemLimit | quote }}
dapr.io/graceful-shutdown-seconds: {{ int $dapr.gracefulShutdownSeconds | quote }}
dapr.io/api-token-secret: {{ .root.Values.dapr.apiTokenSecret | quote }}
dapr.io/sidecar-seccomp-profile-type: "RuntimeDefault"
{{- end -}}
