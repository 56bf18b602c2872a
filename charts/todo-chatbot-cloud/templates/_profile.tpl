{{/*
The environment's profile must be applied whole: `profile.name` (the environment's file) names the layer,
`profile.applied` (set by that layer, values/profiles/<name>.yaml) proves it is among the values files.
Usage: {{ include "todo-chatbot-cloud.profile.validate" . }}
*/}}
{{- define "todo-chatbot-cloud.profile.validate" -}}
{{- $profile := .Values.profile | default dict -}}
{{- $name := $profile.name | default "" -}}
{{- $applied := $profile.applied | default "" -}}
{{- if ne $name $applied -}}
{{- if $name -}}
{{- fail (printf "profile.name: %q, but values/profiles/%s.yaml is not among the values files (profile.applied is %q); todo-cloud render and deploy add it, with helm itself pass --values values/profiles/%s.yaml before values/<env>.yaml" $name $name $applied $name) -}}
{{- else -}}
{{- fail (printf "profile.applied: %q, but the environment's file names no profile (profile.name); drop values/profiles/%s.yaml or set profile.name" $applied $applied) -}}
{{- end -}}
{{- end -}}
{{- end -}}
