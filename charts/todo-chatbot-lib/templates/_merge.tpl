{{/*
Deep merge of two maps, `top` over `base` (maps merge key by key, anything else replaces); YAML out.
Unlike mergeOverwrite, a false or 0 in `top` wins over a true in `base`. Both charts merge a table's
entries over its `defaults` with it (app components, platform NetworkPolicies).
Usage: {{ include "todo-chatbot-lib.merge" (dict "base" $defaults "top" $entry) | fromYaml }}
*/}}
{{- define "todo-chatbot-lib.merge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .top -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $out $key)) -}}
{{- $_ := set $out $key (include "todo-chatbot-lib.merge" (dict "base" (get $out $key) "top" $value) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
