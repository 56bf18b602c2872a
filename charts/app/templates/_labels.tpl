{{/*
Selector labels of a component's pods (kept minimal: selectors are immutable).
Usage: {{ include "app.selectorLabels" (dict "root" $ "name" $name) | nindent 6 }}
*/}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/*
Labels of every object of a component, and of its pods: the selector labels plus part-of, component,
version and chart. `app.kubernetes.io/part-of: todo-chatbot` is what the NetworkPolicies and monitors select.
Usage: {{ include "app.labels" (dict "root" $ "name" $name "component" $c) | nindent 4 }}
*/}}
{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
{{ include "app.commonLabels" .root }}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/version: {{ .component.image.tag | toString | trunc 63 | quote }}
{{- end -}}

{{/*
Labels shared by every object of the app chart: the library's labels, part of todo-chatbot (what the
app's NetworkPolicies and the platform's monitors select the app pods by).
Usage: {{ include "app.commonLabels" . | nindent 4 }}
*/}}
{{- define "app.commonLabels" -}}
{{ include "todo-chatbot-lib.labels" (dict "root" . "partOf" "todo-chatbot") }}
{{- end -}}
