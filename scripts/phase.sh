# phase.sh -- sourced by the scripts: run one step with its name and time.
#   phase NAME COMMAND [ARGS...]
phase() {
	local name=$1 start=$SECONDS
	shift
	echo "==> $name: $*"
	"$@"
	echo "==> $name: done in $((SECONDS - start)) s"
}
