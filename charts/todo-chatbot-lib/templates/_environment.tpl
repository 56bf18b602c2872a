{{/*
The environment this release serves: global.environment (local, staging or production), local when unset.
Usage: {{ include "todo-chatbot-lib.environment" . }}
*/}}
{{- define "todo-chatbot-lib.environment" -}}
{{- ((.Values.global | default dict).environment | default "local") -}}
{{- end -}}
