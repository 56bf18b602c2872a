{{/*
Pod-level security context of the Pod Security Standards "restricted" profile.
Usage: {{ include "app.podSecurityContext" $c.securityContext | nindent 8 }}
*/}}
{{- define "app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ int .runAsUser }}
runAsGroup: {{ int .runAsGroup }}
fsGroup: {{ int .fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Container-level security context of the "restricted" profile, with a read-only root filesystem.
Usage: {{ include "app.containerSecurityContext" . | nindent 12 }}
*/}}
{{- define "app.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
imagePullSecrets of every app pod.
Usage: {{ include "app.imagePullSecrets" $ | nindent 6 }}
*/}}
{{- define "app.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
An HTTP probe on the `http` port.
Usage: {{ include "app.probe" $c.probes.startup | nindent 12 }}
*/}}
{{- define "app.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
periodSeconds: {{ int .periodSeconds }}
failureThreshold: {{ int .failureThreshold }}
timeoutSeconds: 2
{{- end -}}

{{/*
Topology spread of a component's pods: across nodes always, across zones only when `topologySpread.zone`.
Usage: {{ include "app.topologySpread" (dict "root" $ "name" $name "component" $c) | trim | nindent 6 }}
*/}}
{{- define "app.topologySpread" -}}
{{- $spread := .component.topologySpread -}}
{{- $keys := list "kubernetes.io/hostname" -}}
{{- if $spread.zone }}{{ $keys = append $keys "topology.kubernetes.io/zone" }}{{ end -}}
{{- range $keys }}
- topologyKey: {{ . }}
  maxSkew: {{ int $spread.maxSkew }}
  whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
  matchLabelKeys: ["pod-template-hash"]
  labelSelector:
    matchLabels: {{- include "app.selectorLabels" $ | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
The pod spec of a component: its ServiceAccount, restricted security contexts, probes, resources,
ConfigMap env, Secret keys as read-only files, writable emptyDirs under a read-only root filesystem.
Usage: {{ include "app.podSpec" (dict "root" $ "name" $name "component" $c) | nindent 6 }}
*/}}
{{- define "app.podSpec" -}}
{{- $c := .component -}}
{{- $fullname := include "app.componentName" . -}}
serviceAccountName: {{ $fullname }}
automountServiceAccountToken: {{ $c.serviceAccount.automountToken }}
enableServiceLinks: false
terminationGracePeriodSeconds: {{ int $c.terminationGracePeriodSeconds }}
{{- include "app.imagePullSecrets" .root }}
securityContext: {{- include "app.podSecurityContext" $c.securityContext | nindent 2 }}
topologySpreadConstraints: {{- include "app.topologySpread" . | trim | nindent 2 }}
containers:
  - name: {{ .name }}
    image: {{ include "app.image" . }}
    imagePullPolicy: IfNotPresent
    ports:
      - name: http
        containerPort: {{ int $c.port }}
        protocol: TCP
    envFrom:
      - configMapRef:
          name: {{ $fullname }}
    startupProbe: {{- include "app.probe" $c.probes.startup | nindent 6 }}
    readinessProbe: {{- include "app.probe" $c.probes.readiness | nindent 6 }}
    livenessProbe: {{- include "app.probe" $c.probes.liveness | nindent 6 }}
    resources: {{- toYaml $c.resources | nindent 6 }}
    securityContext: {{- include "app.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
      {{- range $volume, $path := $c.writableDirs }}
      - name: {{ $volume }}
        mountPath: {{ $path }}
      {{- end }}
      {{- if or $c.secrets $c.dapr.enabled }}
      - name: secrets
        mountPath: {{ include "app.secretsDir" . }}
        readOnly: true
      {{- end }}
volumes:
  {{- range $volume, $path := $c.writableDirs }}
  - name: {{ $volume }}
    emptyDir:
      sizeLimit: {{ $c.writableDirSizeLimit }}
  {{- end }}
  {{- if or $c.secrets $c.dapr.enabled }}
  {{- include "app.secretsVolume" (dict "root" .root "secrets" $c.secrets "dapr" $c.dapr.enabled) | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
Where the Secret files are mounted in app containers.
Usage: {{ include "app.secretsDir" . }}
*/}}
{{- define "app.secretsDir" -}}
/var/run/secrets/todo-chatbot
{{- end -}}

{{/*
The projected volume `secrets`: each entry of `secrets` (NAME -> {secret, key}) as the file NAME, and the
Dapr API token as DAPR_API_TOKEN when the pod has a sidecar; readable by the pod's group only.
Usage: {{ include "app.secretsVolume" (dict "root" $ "secrets" $c.secrets "dapr" true) | nindent 2 }}
*/}}
{{- define "app.secretsVolume" -}}
- name: secrets
  projected:
    defaultMode: 288  # 0440
    sources:
      {{- range $file, $ref := .secrets }}
      - secret:
          name: {{ $ref.secret }}
          items:
            - key: {{ $ref.key }}
              path: {{ $file }}
      {{- end }}
      {{- if .dapr }}
      - secret:
          name: {{ .root.Values.dapr.apiTokenSecret }}
          items:
            - key: token
              path: DAPR_API_TOKEN
      {{- end }}
{{- end -}}
