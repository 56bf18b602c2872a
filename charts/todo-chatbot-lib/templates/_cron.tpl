{{/*
Cron schedules as a Kubernetes CronJob reads them (robfig/cron's standard parser): five fields, minute (0-59),
hour (0-23), day of month (1-31), month (1-12 or JAN-DEC) and day of week (0-6 or SUN-SAT, 0 is Sunday), each
`*`, `?` (day fields), a value, a range `a-b`, any of those with a step `/n`, or a comma-separated list of
them; or one of the descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. A day
matches when both day fields match, or, when neither day field starts with `*` or `?`, when either does.
Every guard fails naming `key`, the values key the schedule comes from.
*/}}

{{/*
The schedule's longest wait between two runs, in minutes (the next run after the last one of a day, week or
year included), for checking a retention against it. Fails naming `key` when the schedule is malformed or
never runs (such as February 30). Runs are found over the week (any day of any month) or over eight years
from 2024-01-01 (a schedule that names days of the month or months), in UTC.
Usage: {{ $minutes := include "todo-chatbot-lib.cron.longestGap" (dict "key" "postgresDump.schedule" "value" "30 2 * * *") | int }}
*/}}
{{- define "todo-chatbot-lib.cron.longestGap" -}}
{{- $key := .key -}}
{{- $value := toString .value -}}
{{- $descriptors := dict "@yearly" "0 0 1 1 *" "@annually" "0 0 1 1 *" "@monthly" "0 0 1 * *" "@weekly" "0 0 * * 0" "@daily" "0 0 * * *" "@midnight" "0 0 * * *" "@hourly" "0 * * * *" -}}
{{- $spec := get $descriptors (trim $value) | default (trim $value) -}}
{{- $fields := regexSplit "\\s+" $spec -1 -}}
{{- if or (hasPrefix "@" $spec) (ne (len $fields) 5) -}}
{{- fail (printf "%s: %q is not a cron schedule: give five fields (minute hour day-of-month month day-of-week, such as \"30 2 * * *\") or one of %s" $key $value (keys $descriptors | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $monthNames := dict "JAN" 1 "FEB" 2 "MAR" 3 "APR" 4 "MAY" 5 "JUN" 6 "JUL" 7 "AUG" 8 "SEP" 9 "OCT" 10 "NOV" 11 "DEC" 12 -}}
{{- $dayNames := dict "SUN" 0 "MON" 1 "TUE" 2 "WED" 3 "THU" 4 "FRI" 5 "SAT" 6 -}}
{{- $specs := list (list "minute" 0 59 dict) (list "hour" 0 23 dict) (list "day-of-month" 1 31 dict) (list "month" 1 12 $monthNames) (list "day-of-week" 0 6 $dayNames) -}}
{{- $sets := list -}}
{{- $stars := list -}}
{{- range $i, $f := $specs -}}
{{- $field := include "todo-chatbot-lib.cron.field" (dict "key" $key "schedule" $value "name" (index $f 0) "text" (index $fields $i) "min" (index $f 1) "max" (index $f 2) "names" (index $f 3)) | fromYaml -}}
{{- $sets = append $sets $field.values -}}
{{- $stars = append $stars $field.star -}}
{{- end -}}
{{- $minutes := index $sets 0 -}}
{{- $hours := index $sets 1 -}}
{{- $doms := dict -}}
{{- range index $sets 2 }}{{ $_ := set $doms (toString (int .)) true }}{{ end -}}
{{- $months := dict -}}
{{- range index $sets 3 }}{{ $_ := set $months (toString (int .)) true }}{{ end -}}
{{- $dows := dict -}}
{{- range index $sets 4 }}{{ $_ := set $dows (toString (int .)) true }}{{ end -}}
{{- /* the longest wait inside one day: between two minutes of an hour, or from the last minute of an hour to the first of the next */ -}}
{{- $gap := 0 -}}
{{- $first := first $minutes -}}
{{- $last := last $minutes -}}
{{- range $i, $m := rest $minutes -}}
{{- $gap = max $gap (sub $m (index $minutes $i)) -}}
{{- end -}}
{{- range $i, $h := rest $hours -}}
{{- $gap = max $gap (sub (add (mul (sub $h (index $hours $i)) 60) $first) $last) -}}
{{- end -}}
{{- $dayStart := add (mul (first $hours) 60) $first -}}
{{- $dayEnd := add (mul (last $hours) 60) $last -}}
{{- /* the days it runs on: a fortnight when every month and day of the month match (only the day of the week
decides), else eight years (leap days included) */ -}}
{{- $both := or (index $stars 2) (index $stars 4) -}}
{{- $weekly := and (eq (len $months) 12) (eq (len $doms) 31) -}}
{{- $days := list -}}
{{- $index := 0 -}}
{{- range $y := until (ternary 1 8 $weekly) -}}
{{- $year := add 2024 $y -}}
{{- $lengths := ternary (list 14) (list 31 (ternary 29 28 (eq (mod $year 4) 0)) 31 30 31 30 31 31 30 31 30 31) $weekly -}}
{{- range $mi, $length := $lengths -}}
{{- if or $weekly (hasKey $months (toString (add $mi 1))) -}}
{{- range $d := until (int $length) -}}
{{- $dom := or $weekly (hasKey $doms (toString (add $d 1))) -}}
{{- $dow := hasKey $dows (toString (mod (add $index $d 1) 7)) -}}
{{- if ternary (and $dom $dow) (or $dom $dow) $both -}}
{{- $days = append $days (add $index $d) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $index = add $index $length -}}
{{- end -}}
{{- end -}}
{{- if not $days -}}
{{- fail (printf "%s: %q never runs: no day matches its day-of-month, month and day-of-week fields" $key $value) -}}
{{- end -}}
{{- if eq (len $days) 1 -}}
{{- fail (printf "%s: %q runs at most once in eight years; a backup schedule must repeat" $key $value) -}}
{{- end -}}
{{- range $i, $day := rest $days -}}
{{- $gap = max $gap (sub (add (mul (sub $day (index $days $i)) 1440) $dayStart) $dayEnd) -}}
{{- end -}}
{{- $gap -}}
{{- end -}}

{{/*
One field of a cron schedule as YAML {values: the values it matches in ascending order, star: it starts with
`*` or `?`}; fails naming `key` and the field when it is malformed or out of range. `names` maps the field's
names (JAN, MON) to their values.
Usage: {{ $f := include "todo-chatbot-lib.cron.field" (dict "key" $key "schedule" $value "name" "hour" "text" "9-17" "min" 0 "max" 23 "names" dict) | fromYaml }}
*/}}
{{- define "todo-chatbot-lib.cron.field" -}}
{{- $ctx := . -}}
{{- $found := dict -}}
{{- $bad := printf "%s: %q is not a cron schedule: its %s field %q" .key .schedule .name .text -}}
{{- $range := printf "must be %d-%d" (int .min) (int .max) -}}
{{- range $part := splitList "," .text -}}
{{- if not (regexMatch "^(\\*|\\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$" $part) -}}
{{- fail (printf "%s: %q is neither *, a value, a range a-b nor one of those with a step /n" $bad $part) -}}
{{- end -}}
{{- $stepped := splitList "/" $part -}}
{{- $span := first $stepped -}}
{{- $step := 1 -}}
{{- if eq (len $stepped) 2 -}}
{{- $step = atoi (index $stepped 1) -}}
{{- end -}}
{{- if lt $step 1 -}}
{{- fail (printf "%s: step of %q must be 1 or more" $bad $part) -}}
{{- end -}}
{{- $lo := int $ctx.min -}}
{{- $hi := int $ctx.max -}}
{{- if and (eq $span "?") (not (has $ctx.name (list "day-of-month" "day-of-week"))) -}}
{{- fail (printf "%s: ? stands for a day field only" $bad) -}}
{{- end -}}
{{- if not (has $span (list "*" "?")) -}}
{{- $ends := list -}}
{{- range $end := splitList "-" $span -}}
{{- if regexMatch "^[0-9]+$" $end -}}
{{- $ends = append $ends (atoi $end) -}}
{{- else if hasKey $ctx.names (upper $end) -}}
{{- $ends = append $ends (get $ctx.names (upper $end) | int) -}}
{{- else -}}
{{- fail (printf "%s: %q is not a number%s" $bad $end (ternary "" (printf " nor a name (%s)" (keys $ctx.names | sortAlpha | join ", ")) (empty $ctx.names))) -}}
{{- end -}}
{{- end -}}
{{- $lo = first $ends -}}
{{- $hi = ternary (last $ends) (ternary (int $ctx.max) $lo (eq (len $stepped) 2)) (eq (len $ends) 2) -}}
{{- range $end := list $lo $hi -}}
{{- if or (lt $end (int $ctx.min)) (gt $end (int $ctx.max)) -}}
{{- fail (printf "%s: %d is out of range (%s)" $bad $end $range) -}}
{{- end -}}
{{- end -}}
{{- if gt $lo $hi -}}
{{- fail (printf "%s: range %q runs backwards" $bad $span) -}}
{{- end -}}
{{- end -}}
{{- range untilStep (int $lo) (int (add $hi 1)) (int $step) -}}
{{- $_ := set $found (toString .) true -}}
{{- end -}}
{{- end -}}
{{- $values := list -}}
{{- range $v := until (int (add .max 1)) -}}
{{- if hasKey $found (toString $v) -}}
{{- $values = append $values $v -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "values" $values "star" (or (hasPrefix "*" .text) (hasPrefix "?" .text))) -}}
{{- end -}}

{{/*
A number of minutes as the shortest duration that says it exactly: `<n>d`, `<n>h` or `<n>m`.
Usage: {{ include "todo-chatbot-lib.cron.duration" 1440 }}
*/}}
{{- define "todo-chatbot-lib.cron.duration" -}}
{{- $m := int . -}}
{{- if and (gt $m 0) (eq (mod $m 1440) 0) -}}{{ div $m 1440 }}d
{{- else if and (gt $m 0) (eq (mod $m 60) 0) -}}{{ div $m 60 }}h
{{- else -}}{{ $m }}m
{{- end -}}
{{- end -}}
