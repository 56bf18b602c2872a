{{/*
Labels of every monitoring object of the platform chart: the chart's labels, the monitoring component, and
the label this release's Prometheus selects monitors and rules by (monitoring.selectorLabel = release name).
Usage: {{ include "platform.monitoring.labels" . | nindent 4 }}
*/}}
{{- define "platform.monitoring.labels" -}}
{{ include "platform.labels" . }}
app.kubernetes.io/component: monitoring
{{ required "monitoring.selectorLabel: the label key Prometheus selects monitors by is needed" .Values.monitoring.selectorLabel }}: {{ .Release.Name }}
{{- end -}}

{{/*
One endpoint of a monitor: port, path, interval, and relabelings setting `job` (and `app` for app pods).
Usage: {{ include "platform.monitoring.endpoint" (dict "root" $ "job" $job "target" $t "endpoint" $e) | nindent 4 }}
*/}}
{{- define "platform.monitoring.endpoint" -}}
- port: {{ .endpoint.port }}
  path: {{ .endpoint.path }}
  interval: {{ .root.Values.monitoring.interval }}
  relabelings:
    - action: replace
      targetLabel: job
      replacement: {{ .job }}
    {{- if .target.app }}
    - action: replace
      sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
      targetLabel: app
    {{- end }}
{{- end -}}
