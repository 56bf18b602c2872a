{{/*
The enabled components, each merged over `defaults`, as YAML (name -> settings), after the guards of
app.validate: every template reads the components through this helper, so a bad value fails the render
before any template can trip over it. Computed once per render (kept on the root context).
Usage: {{ range $name, $c := include "app.components" . | fromYaml }}
*/}}
{{- define "app.components" -}}
{{- if not (hasKey . "appComponentsYaml") -}}
{{- include "app.validate" . -}}
{{- $_ := set . "appComponentsYaml" (include "app.mergedComponents" .) -}}
{{- end -}}
{{- get . "appComponentsYaml" -}}
{{- end -}}

{{/*
The enabled components merged over `defaults`, unchecked (for app.validate itself).
Usage: {{ include "app.mergedComponents" . | fromYaml }}
*/}}
{{- define "app.mergedComponents" -}}
{{- $out := dict -}}
{{- range $name, $component := .Values.components -}}
{{- if $component.enabled -}}
{{- $_ := set $out $name (include "todo-chatbot-lib.merge" (dict "base" $.Values.defaults "top" $component) | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
"true" when a component can run more than one pod (more than one replica, or an HPA allowing more).
Usage: {{ if eq (include "app.multiReplica" $c) "true" }}
*/}}
{{- define "app.multiReplica" -}}
{{- if .autoscaling.enabled -}}
{{- ternary "true" "false" (gt (int .autoscaling.maxReplicas) 1) -}}
{{- else -}}
{{- ternary "true" "false" (gt (int .replicas) 1) -}}
{{- end -}}
{{- end -}}

{{/*
ConfigMap data of a component: environment, port, the Services of the components it calls, the paths of
its Secret files (NAME_FILE), its config.
Usage: {{ include "app.configData" (dict "root" $ "name" $name "component" $c "all" $components) | nindent 2 }}
*/}}
{{- define "app.configData" -}}
{{- $data := dict "APP_ENVIRONMENT" (include "todo-chatbot-lib.environment" .root) "PORT" (toString (int .component.port)) "DAPR_APP_ID" .name -}}
{{- range $callee := .component.calls -}}
{{- $target := get $.all $callee -}}
{{- if $target -}}
{{- $url := printf "http://%s:%d" (include "app.componentName" (dict "root" $.root "name" $callee)) (int $target.port) -}}
{{- $_ := set $data (printf "%s_URL" ($callee | upper | replace "-" "_")) $url -}}
{{- end -}}
{{- end -}}
{{- range $file, $ref := .component.secrets -}}
{{- $_ := set $data (printf "%s_FILE" $file) (printf "%s/%s" (include "app.secretsDir" $.root) $file) -}}
{{- end -}}
{{- if .component.dapr.enabled -}}
{{- $_ := set $data "DAPR_API_TOKEN_FILE" (printf "%s/DAPR_API_TOKEN" (include "app.secretsDir" .root)) -}}
{{- end -}}
{{- if .component.subscriptions -}}
{{- $_ := set $data "SUBSCRIBED_TOPICS" (join "," .component.subscriptions) -}}
{{- end -}}
{{- range $key, $value := .component.config -}}
{{- $_ := set $data $key (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}
