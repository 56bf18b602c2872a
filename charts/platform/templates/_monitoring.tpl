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
The scrape targets, by job (the keys of config/observability/metrics.yaml `targets`): the kind of monitor,
its name suffix, its pod or Service selector and its endpoints. Every endpoint sets `job` to the target's
key, and app targets get an `app` label from app.kubernetes.io/name.
Usage: {{ $targets := include "platform.monitoring.targets" . | fromYaml }}
*/}}
{{- define "platform.monitoring.targets" -}}
{{- $m := .Values.monitoring -}}
{{- $cluster := required "monitoring.kafkaCluster: the Kafka cluster name is needed" $m.kafkaCluster -}}
backend:
  kind: ServiceMonitor
  name: backend
  app: true
  selector:
    matchLabels:
      app.kubernetes.io/name: backend
      app.kubernetes.io/part-of: todo-chatbot
  endpoints:
    - {port: http, path: {{ $m.targets.backend.path | quote }}}
frontend:
  kind: ServiceMonitor
  name: frontend
  app: true
  selector:
    matchLabels:
      app.kubernetes.io/name: frontend
      app.kubernetes.io/part-of: todo-chatbot
  endpoints:
    - {port: http, path: {{ $m.targets.frontend.path | quote }}}
dapr-sidecar:
  kind: PodMonitor
  name: dapr-sidecars
  app: true
  selector:
    matchLabels:
      app.kubernetes.io/part-of: todo-chatbot
  endpoints:
    - {port: dapr-metrics, path: /}
dapr-control-plane:
  kind: PodMonitor
  name: dapr-control-plane
  selector:
    matchLabels:
      app.kubernetes.io/part-of: dapr
  endpoints:
    - {port: metrics, path: /}
kafka-broker:
  kind: PodMonitor
  name: kafka-brokers
  selector:
    matchLabels:
      strimzi.io/cluster: {{ $cluster }}
      strimzi.io/kind: Kafka
    matchExpressions:
      - {key: strimzi.io/pool-name, operator: Exists}
  endpoints:
    - {port: tcp-prometheus, path: /metrics}
kafka-exporter:
  kind: PodMonitor
  name: kafka-exporter
  selector:
    matchLabels:
      strimzi.io/cluster: {{ $cluster }}
      strimzi.io/name: {{ $cluster }}-kafka-exporter
  endpoints:
    - {port: tcp-prometheus, path: /metrics}
strimzi-operator:
  kind: PodMonitor
  name: strimzi-operators
  selector:
    matchExpressions:
      - {key: strimzi.io/kind, operator: In, values: [cluster-operator, Kafka]}
  endpoints:
    - {port: http, path: /metrics}
    - {port: healthcheck, path: /metrics}
loki:
  kind: ServiceMonitor
  name: loki
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: single-binary
    matchExpressions:
      - {key: prometheus.io/service-monitor, operator: NotIn, values: ["false"]}
  endpoints:
    - {port: http-metrics, path: /metrics}
jaeger:
  kind: ServiceMonitor
  name: jaeger
  selector:
    matchLabels:
      app.kubernetes.io/name: jaeger
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: all-in-one
  endpoints:
    - {port: internal-metrics, path: /metrics}
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
