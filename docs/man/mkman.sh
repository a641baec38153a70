#!/bin/sh
# mkman.sh TOOL HEAD TAIL OUT - writes shmbus(1) from the tool's own help.
#
# The commands and their options are the tool's --help texts, so the manual
# page cannot drift from the program: HEAD (name, synopsis, description) and
# TAIL (exit status, environment, files, examples, see also) are roff kept in
# the tree; the COMMANDS section between them is generated here.
set -eu
tool=$1 head=$2 tail=$3 out=$4

# roff-escape preformatted text: backslashes, and a leading . or ' that roff
# would read as a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

section() { # section TITLE ARGS... : one .SS holding 'shmbus ARGS --help'
	title=$1; shift
	printf '.SS %s\n.nf\n' "$title"
	"$tool" "$@" --help | esc
	printf '.fi\n'
}

tmp=$out.tmp
{
	cat "$head"
	printf '.SH COMMANDS\n'
	# The command list is the indented "  name   summary" lines of --help.
	for cmd in $("$tool" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
		section "$cmd" "$cmd"
		if [ "$cmd" = create ]; then
			for kind in $("$tool" create --help |
				      sed -n 's/^  shmbus create \([a-z]*\) .*/\1/p'); do
				section "create $kind" create "$kind"
			done
		fi
	done
	cat "$tail"
} >"$tmp"
mv "$tmp" "$out"
