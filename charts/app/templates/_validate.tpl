{{/*
Guards for what the schema cannot express (rules across keys, and rules per environment); each `fail`
names the offending key. Run by app.components (and templates/validate.yaml), so a failing value fails
the whole render.
Usage: {{ include "app.validate" . }}
*/}}
{{- define "app.validate" -}}
{{- $components := include "app.mergedComponents" . | fromYaml -}}
{{- $production := eq (include "todo-chatbot-lib.environment" .) "production" -}}
{{- $np := .Values.networkPolicy -}}
{{- $daprPorts := dict "3500" "the Dapr sidecar's HTTP API" "3501" "the Dapr sidecar's health endpoint" "50001" "the Dapr sidecar's gRPC API" "50002" "the Dapr sidecar's internal gRPC port" (toString (int .Values.dapr.metricsPort)) "the Dapr sidecar's metrics port (dapr.metricsPort)" -}}
{{- range $name, $c := $components -}}
{{- $key := printf "components.%s" $name -}}
{{- if and $production (not $c.image.digest) -}}
{{- fail (printf "%s.image.digest: required in production (global.environment=production): pin the image by its sha256 digest" $key) -}}
{{- end -}}
{{- if and $c.autoscaling.enabled (gt (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling.minReplicas (%d) is greater than maxReplicas (%d)" $key (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if $production -}}
{{- if and $c.autoscaling.enabled (lt (int $c.autoscaling.minReplicas) 2) -}}
{{- fail (printf "%s.autoscaling.minReplicas: production runs at least 2 replicas of every component, got %d" $key (int $c.autoscaling.minReplicas)) -}}
{{- end -}}
{{- if and (not $c.autoscaling.enabled) (lt (int $c.replicas) 2) -}}
{{- fail (printf "%s.replicas: production runs at least 2 replicas of every component, got %d" $key (int $c.replicas)) -}}
{{- end -}}
{{- end -}}
{{- if and $c.dapr.enabled (ge (int $c.dapr.gracefulShutdownSeconds) (int $c.terminationGracePeriodSeconds)) -}}
{{- fail (printf "%s.dapr.gracefulShutdownSeconds (%d) must be shorter than %s.terminationGracePeriodSeconds (%d)" $key (int $c.dapr.gracefulShutdownSeconds) $key (int $c.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- if and $c.serviceAccount.readSecrets (not $c.serviceAccount.automountToken) -}}
{{- fail (printf "%s.serviceAccount.readSecrets: reading Secrets needs an API token, set %s.serviceAccount.automountToken" $key $key) -}}
{{- end -}}
{{- range $callee := $c.calls -}}
{{- if not (hasKey $components $callee) -}}
{{- fail (printf "%s.calls: %q is not an enabled component" $key $callee) -}}
{{- end -}}
{{- end -}}
{{- range $file, $ref := $c.secrets -}}
{{- if hasKey $c.config (printf "%s_FILE" $file) -}}
{{- fail (printf "%s.secrets.%s: %s_FILE is also set in %s.config; the chart sets it to the mounted file" $key $file $file $key) -}}
{{- end -}}
{{- end -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" (printf "%s.resources" $key) "resources" $c.resources) -}}
{{- if $c.dapr.enabled -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" (printf "%s.dapr.sidecar" $key) "resources" $c.dapr.sidecar) -}}
{{- if and $c.port (hasKey $daprPorts (toString (int $c.port))) -}}
{{- fail (printf "%s.port: %d is %s; two containers of one pod cannot listen on one port" $key (int $c.port) (get $daprPorts (toString (int $c.port)))) -}}
{{- end -}}
{{- end -}}
{{- if and $np.enabled $c.database -}}
{{- if not $np.database.cidr -}}
{{- fail (printf "networkPolicy.database.cidr: required, %s.database connects to PostgreSQL (each environment's comes from config/environments.yaml)" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $components (not .Values.image.registry) -}}
{{- fail "image.registry: required: the registry of the app images (each environment's comes from config/environments.yaml)" -}}
{{- end -}}
{{- if $np.enabled -}}
{{- with $np.database.cidr -}}
{{- include "todo-chatbot-lib.validate.cidr" (dict "key" "networkPolicy.database.cidr" "value" .) -}}
{{- end -}}
{{- range $i, $cidr := $np.external.except -}}
{{- include "todo-chatbot-lib.validate.cidr" (dict "key" (printf "networkPolicy.external.except[%d]" $i) "value" $cidr) -}}
{{- end -}}
{{- include "todo-chatbot-lib.validate.cidr" (dict "key" "networkPolicy.apiServer.cidr" "value" $np.apiServer.cidr) -}}
{{- range $part := list "kafka" "tracing" "apiServer" -}}
{{- include "todo-chatbot-lib.validate.ports" (dict "key" (printf "networkPolicy.%s.ports" $part) "ports" (get $np $part).ports) -}}
{{- end -}}
{{- end -}}
{{- if ne .Values.exposure.mode "none" -}}
{{- if not (hasKey $components .Values.exposure.component) -}}
{{- fail (printf "exposure.component: %q is not an enabled component" .Values.exposure.component) -}}
{{- end -}}
{{- end -}}
{{- if and $production .Values.tls.enabled (ne .Values.tls.issuer "production") -}}
{{- fail (printf "tls.issuer: production serves trusted certificates, set it to production (got %s)" .Values.tls.issuer) -}}
{{- end -}}
{{- if and $production (not .Values.tls.enabled) (ne .Values.exposure.mode "none") -}}
{{- fail "tls.enabled: production hostnames are served over HTTPS only" -}}
{{- end -}}
{{- if and .Values.tests.enabled (eq (include "app.workloadsEnabled" .) "true") (not (hasKey $components .Values.tests.imageFrom)) -}}
{{- fail (printf "tests.imageFrom: %q is not an enabled component" .Values.tests.imageFrom) -}}
{{- end -}}
{{- end -}}
