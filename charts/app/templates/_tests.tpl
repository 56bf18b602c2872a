{{/*
Name and labels of a `helm test` Job and its pod (the labels are what their NetworkPolicies select).
Usage: {{ include "app.testLabels" (dict "root" $ "test" "health") | nindent 4 }}
*/}}
{{- define "app.testLabels" -}}
{{ include "app.commonLabels" .root }}
app.kubernetes.io/name: {{ include "todo-chatbot-lib.fullname" .root }}-test-{{ .test }}
app.kubernetes.io/component: helm-test
{{- end -}}

{{/*
Metadata of a `helm test` Job: the hook annotations (a failed test is kept for its logs).
Usage: {{ include "app.testMetadata" (dict "root" $ "test" "health") | nindent 2 }}
*/}}
{{- define "app.testMetadata" -}}
name: {{ include "todo-chatbot-lib.fullname" .root }}-test-{{ .test }}
labels: {{- include "app.testLabels" . | nindent 2 }}
annotations:
  helm.sh/hook: test
  helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{/*
Job spec fields of the `helm test` Jobs: one attempt (a failed check fails the test), a deadline, and a
new pod instead of a failure when the node goes away (eviction, drain, preemption).
Usage: {{ include "app.testJobSpec" . | nindent 2 }}
*/}}
{{- define "app.testJobSpec" -}}
backoffLimit: 0
activeDeadlineSeconds: 300
podFailurePolicy:
  rules:
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
{{- end -}}

{{/*
Pod spec fields shared by the `helm test` pods: restricted security, no API token, the pull secrets.
Usage: {{ include "app.testPodSpec" $ | nindent 6 }}
*/}}
{{- define "app.testPodSpec" -}}
restartPolicy: Never
automountServiceAccountToken: false
enableServiceLinks: false
{{- include "app.imagePullSecrets" . }}
securityContext: {{- include "app.podSecurityContext" .Values.defaults.securityContext | nindent 2 }}
{{- end -}}

{{/*
Container fields shared by the `helm test` pods: the image of `tests.imageFrom` (it has python3),
small resources, the restricted container security context.
Usage: {{ include "app.testContainer" (dict "root" $ "components" $components) | nindent 10 }}
*/}}
{{- define "app.testContainer" -}}
{{- $from := .root.Values.tests.imageFrom -}}
image: {{ include "app.image" (dict "root" .root "name" $from "component" (get .components $from)) }}
imagePullPolicy: IfNotPresent
command: ["python3", "-c"]
resources:
  requests: {cpu: 10m, memory: 32Mi}
  limits: {cpu: 200m, memory: 128Mi}
securityContext: {{- include "app.containerSecurityContext" . | nindent 2 }}
{{- end -}}
