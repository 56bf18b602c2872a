{{/*
The helm.sh/chart label of the chart that renders the object: <name>-<version> ("+" becomes "_").
Usage: {{ include "todo-chatbot-lib.chartLabel" . }}
*/}}
{{- define "todo-chatbot-lib.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" -}}
{{- end -}}

{{/*
Labels every object of our charts carries: what it is part of (`partOf`: todo-chatbot for the app,
todo-chatbot-cloud for the platform), who manages it, and which chart rendered it.
Usage: {{ include "todo-chatbot-lib.labels" (dict "root" . "partOf" "todo-chatbot") | nindent 4 }}
*/}}
{{- define "todo-chatbot-lib.labels" -}}
app.kubernetes.io/part-of: {{ required "todo-chatbot-lib.labels: partOf is needed" .partOf }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "todo-chatbot-lib.chartLabel" .root }}
{{- end -}}
