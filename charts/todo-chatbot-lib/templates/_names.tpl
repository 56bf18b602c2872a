{{/*
Name prefix of a release's objects: the release name, truncated to 63 characters.
Usage: {{ include "todo-chatbot-lib.fullname" . }}
*/}}
{{- define "todo-chatbot-lib.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
