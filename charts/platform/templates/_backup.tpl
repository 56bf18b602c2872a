{{/*
Helpers of the PostgreSQL dump job (templates/backup/). Guards live in "platform.backup.validate", rendered
by templates/backup/validate.yaml, so a bad value fails the whole release. What the two containers run is
composed here from postgresDump (docs/RUNBOOK.md "Backup and restore"; the drill of tests/runtime runs these
same command lines, read off the rendered CronJob).
*/}}

{{/*
Name of the dump job's objects (CronJob, ServiceAccount): `<release>-postgres-dump`.
Usage: {{ include "platform.backup.name" . }}
*/}}
{{- define "platform.backup.name" -}}
{{- printf "%s-postgres-dump" (include "todo-chatbot-lib.fullname" .) -}}
{{- end -}}

{{/*
Labels of the dump job's objects and pods: the chart's labels, its name and component.
Usage: {{ include "platform.backup.labels" . | nindent 4 }}
*/}}
{{- define "platform.backup.labels" -}}
{{ include "platform.labels" . }}
app.kubernetes.io/name: postgres-dump
app.kubernetes.io/component: backup
{{- end -}}

{{/*
A retention `<n>h` or `<n>d` in minutes.
Usage: {{ include "platform.backup.retentionMinutes" "14d" | int }}
*/}}
{{- define "platform.backup.retentionMinutes" -}}
{{- $n := regexFind "^[0-9]+" . | int -}}
{{- mul $n (ternary 1440 60 (hasSuffix "d" .)) -}}
{{- end -}}

{{/*
An image reference `<repository>:<tag>[@<digest>]`.
Usage: {{ include "platform.backup.image" .Values.postgresDump.images.dump }}
*/}}
{{- define "platform.backup.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- with .digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/*
The dump container's script (for `sh -ec`): pg_dump of the database whose URL is in the file
$DATABASE_URL_FILE, with postgresDump.pgDumpOptions, into $DUMP_DIR/<UTC time>.dump (written as .part and
renamed when complete, so the upload never takes a partial dump).
Usage: {{ include "platform.backup.dumpScript" . | quote }}
*/}}
{{- define "platform.backup.dumpScript" -}}
name="$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --dbname="$(cat "$DATABASE_URL_FILE")" --file="$DUMP_DIR/$name.part" {{ .Values.postgresDump.pgDumpOptions | join " " }}
mv "$DUMP_DIR/$name.part" "$DUMP_DIR/$name"
echo "dumped $name ($(wc -c < "$DUMP_DIR/$name") bytes)"
{{- end -}}

{{/*
The upload container's script (for `sh -ec`): the Spaces key read from its files into rclone's remote
`spaces` (the rest of the remote is in the container's RCLONE_CONFIG_SPACES_* environment), the dump copied to
<bucket>/<prefix>/ (never overwriting an object), then the `*.dump` objects under it older than the
retention deleted. A failed upload stops the script before anything is deleted.
Usage: {{ include "platform.backup.uploadScript" . | quote }}
*/}}
{{- define "platform.backup.uploadScript" -}}
{{- $d := .Values.postgresDump -}}
{{- $target := printf "spaces:%s/%s" $d.bucket $d.prefix -}}
RCLONE_CONFIG_SPACES_ACCESS_KEY_ID="$(cat "$SPACES_ACCESS_KEY_ID_FILE")"
RCLONE_CONFIG_SPACES_SECRET_ACCESS_KEY="$(cat "$SPACES_SECRET_ACCESS_KEY_FILE")"
export RCLONE_CONFIG_SPACES_ACCESS_KEY_ID RCLONE_CONFIG_SPACES_SECRET_ACCESS_KEY
rclone copy "$DUMP_DIR" {{ $target | squote }} --include '*.dump' --immutable --no-traverse
rclone delete {{ $target | squote }} --include '*.dump' --min-age {{ $d.retention | squote }}
rclone lsf {{ $target | squote }} --include '*.dump'
{{- end -}}

{{/*
Every guard of the dump job's values; renders nothing, fails naming the offending key.
Usage: {{ include "platform.backup.validate" . }}
*/}}
{{- define "platform.backup.validate" -}}
{{- $d := .Values.postgresDump -}}
{{- if not $d.bucket -}}
{{- fail "postgresDump.bucket: no bucket to write the dumps to; set the environment's backups bucket (terraform `<spaces_bucket_prefix>-backups`) or postgresDump.enabled: false" -}}
{{- end -}}
{{- $gap := include "todo-chatbot-lib.cron.longestGap" (dict "key" "postgresDump.schedule" "value" $d.schedule) | int -}}
{{- $retention := include "platform.backup.retentionMinutes" $d.retention | int -}}
{{- if lt $retention $gap -}}
{{- fail (printf "postgresDump.retention: %s is shorter than the %s between two runs of postgresDump.schedule %q: each run would delete every earlier dump" $d.retention (include "todo-chatbot-lib.cron.duration" $gap) $d.schedule) -}}
{{- end -}}
{{- end -}}

{{/*
Container security context of the "restricted" profile with a read-only root filesystem.
Usage: {{ include "platform.backup.containerSecurityContext" . | nindent 16 }}
*/}}
{{- define "platform.backup.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
