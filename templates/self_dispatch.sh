if [ "${1-}" = @SELF_COMMAND@ ]; then
    shift
    PACK_LAUNCHER=@ENTRY_Q@
    PACK_SELF_COMMAND=@SELF_COMMAND@
    export PACK_LAUNCHER PACK_SELF_COMMAND
    exec "$root/venv/bin/python" -I -S "$root/.pack/runtime" "$@"
fi
