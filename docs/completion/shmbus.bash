# bash completion for shmbus(1).
#
# Commands and options are read from the tool's own --help texts (so they
# follow the installed version), and block names from /dev/shm.  Needs no
# helper from the bash-completion package, which finds this file by name
# under share/bash-completion/completions/.

_shmbus_blocks()
{
	local f
	for f in /dev/shm/*; do
		[ -f "$f" ] && printf '%s\n' "${f#/dev/shm/}"
	done
}

_shmbus()
{
	local cur=${COMP_WORDS[COMP_CWORD]} tool=${COMP_WORDS[0]}
	local cmd= kind= i w words

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -* ]] && continue
		if [ -z "$cmd" ]; then
			cmd=$w
		elif [ "$cmd" = create ] && [ -z "$kind" ]; then
			kind=$w
		fi
	done

	if [ -z "$cmd" ]; then
		words=$("$tool" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
		COMPREPLY=($(compgen -W "$words --help --version" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		words=$("$tool" $cmd $kind --help 2>/dev/null |
			grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		COMPREPLY=($(compgen -W "$words --help" -- "$cur"))
		return
	fi
	if [ "$cmd" = create ] && [ -z "$kind" ]; then
		words=$("$tool" create --help 2>/dev/null |
			sed -n 's/^  shmbus create \([a-z]*\) .*/\1/p')
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return
	fi
	case $cmd in
	create|help|--help|--version)
		;;                      # a new name: nothing to offer
	*)
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "$(_shmbus_blocks)" -- "$cur"))
		;;
	esac
}
complete -o default -F _shmbus shmbus
