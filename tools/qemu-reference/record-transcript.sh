#!/bin/sh
# Records a QEMU 7.2 human-monitor session exactly as a user would capture or paste it
# (-monitor stdio: banner, "(qemu)" prompts, readline's echo with its terminal escapes, CRLF line
# ends), for the import tests: tests/Memspace.Tests/Data/transcripts/q35-512M-monitor-stdio.txt.
#
#   tools/qemu-reference/record-transcript.sh [OUTPUT]
set -eu
out=${1:-tests/Memspace.Tests/Data/transcripts/q35-512M-monitor-stdio.txt}
printf 'info mtree -D\ninfo mtree -f\nquit\n' |
    timeout 60 qemu-system-x86_64 -machine q35 -accel tcg -m 512 -S -display none -serial none \
        -nodefaults -monitor stdio >"$out"
echo "recorded $(wc -l <"$out") lines with $(qemu-system-x86_64 --version | head -1) into $out"
