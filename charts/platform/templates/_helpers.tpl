{{/*
Labels on every object of the platform chart: the library's labels, part of todo-chatbot-cloud, and the
release instance.
Usage: {{ include "platform.labels" . | nindent 4 }}
*/}}
{{- define "platform.labels" -}}
{{ include "todo-chatbot-lib.labels" (dict "root" . "partOf" "todo-chatbot-cloud") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
