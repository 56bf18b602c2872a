{{/*
Name of the platform's objects: the release name, truncated to 63 characters.
Usage: {{ include "platform.fullname" . }}
*/}}
{{- define "platform.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels on every object of the platform chart.
Usage: {{ include "platform.labels" . | nindent 4 }}
*/}}
{{- define "platform.labels" -}}
app.kubernetes.io/part-of: todo-chatbot-cloud
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
