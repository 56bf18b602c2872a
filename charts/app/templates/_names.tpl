{{/*
Name of one component's objects (Deployment, Service, ServiceAccount, ConfigMap, HPA, PDB, policy).
Usage: {{ include "app.componentName" (dict "root" $ "name" "backend") }}
*/}}
{{- define "app.componentName" -}}
{{- printf "%s-%s" (include "todo-chatbot-lib.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
"true" unless global.workloads.enabled is false: Deployments, HPAs, PDBs and test pods render only then
(the first phase of a fresh install sets it to false, before the Dapr sidecar injector serves).
Usage: {{ if eq (include "app.workloadsEnabled" .) "true" }}
*/}}
{{- define "app.workloadsEnabled" -}}
{{- $workloads := (.Values.global | default dict).workloads | default dict -}}
{{- ternary "false" "true" (eq (toString (get $workloads "enabled")) "false") -}}
{{- end -}}

{{/*
The image reference of a component: registry/repository:tag, with @digest appended when pinned.
Usage: {{ include "app.image" (dict "root" $ "name" $name "component" $c) }}
*/}}
{{- define "app.image" -}}
{{- $image := .component.image -}}
{{- $ref := printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) $image.repository (toString $image.tag) -}}
{{- if $image.digest -}}
{{- $ref = printf "%s@%s" $ref $image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}
