#!/usr/bin/env bash
# docs_check.sh BUILD WORK - the installed manual pages render without a
# warning and describe every command and option the installed tool has; the
# installed bash completion completes commands, kinds, options and names.
set -euo pipefail
build=$1 work=$2
fail() { echo "docs_check: $*" >&2; exit 1; }

rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
tool=$work/prefix/bin/shmbus
man1=$work/prefix/share/man/man1/shmbus.1
man7=$work/prefix/share/man/man7/shmbus.7
comp=$work/prefix/share/bash-completion/completions/shmbus
for f in "$tool" "$man1" "$man7" "$comp"; do
	[ -e "$f" ] || fail "not installed: ${f#$work/prefix/}"
done
command -v man >/dev/null || fail "man not found (Debian: apt-get install man-db)"

# --- the pages render, with no groff warning -------------------------------
render() { # render PAGE OUT: man -l, warnings on, errors kept apart
	LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_FORMATTING= \
		man --warnings=w,mac -l "$1" >"$2" 2>"$2.err" || fail "man -l $1 failed: $(cat "$2.err")"
	[ -s "$2.err" ] && fail "man -l $1 warns: $(cat "$2.err")"
	[ "$(wc -l <"$2")" -gt 40 ] || fail "man -l $1 rendered only $(wc -l <"$2") lines"
}
render "$man1" "$work/shmbus.1.txt"
render "$man7" "$work/shmbus.7.txt"
# man may underline/embolden with backspaces when not told otherwise.
sed -i 's/.\x08//g' "$work/shmbus.1.txt" "$work/shmbus.7.txt"

# --- shmbus(1) has every command and every option of the installed tool ----
cmds=$("$tool" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
[ "$(echo "$cmds" | wc -w)" -ge 10 ] || fail "shmbus --help lists too few commands: $cmds"
for c in $cmds; do
	grep -q "usage: shmbus $c" "$work/shmbus.1.txt" || fail "shmbus(1) lacks the command $c"
	for o in $("$tool" "$c" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qe "$o" "$work/shmbus.1.txt" || fail "shmbus(1) lacks $c's option $o"
	done
done
for s in "EXIT STATUS" "FILES" "SEE ALSO"; do
	grep -q "^$s" "$work/shmbus.1.txt" || fail "shmbus(1) lacks the section $s"
done
for w in shmbus_spsc_reserve shmbus_mpmc_close_stream shmbus_bcast_close_stream \
	 SHMBUS_ECORRUPT SHMBUS_EEOS ShareableList; do
	grep -q "$w" "$work/shmbus.7.txt" || fail "shmbus(7) does not mention $w"
done

# --- completion --------------------------------------------------------------
complete_words() { # complete_words WORD... : what TAB offers for the last word
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _shmbus
		 printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$tool" "$@"
}
expect() { # expect WANT WORD... : WANT is among the completions of WORD...
	local want=$1 got; shift
	# Captured first: grep -q would stop reading early, and pipefail
	# would then count the writer's SIGPIPE as a failure.
	got=$(complete_words "$@")
	grep -qxF -- "$want" <<<"$got" ||
		fail "completing '$*' does not offer $want (got: $(tr '\n' ' ' <<<"$got"))"
}
expect inspect in
expect gc g
expect spsc create sp
expect --dry-run gc --dr
expect --capacity create spsc x --cap
[ -z "$(complete_words zzz-no-such)" ] || fail "completion offers commands that do not exist"

name=docs-check-$$
"$tool" create block "$name" --size 4K
trap '"$tool" rm "$name" >/dev/null 2>&1 || true' EXIT
expect "$name" inspect docs-check-$$
expect "$name" sub docs-check
echo "docs_check: pages render, list $(echo "$cmds" | wc -w) commands; completion works"
