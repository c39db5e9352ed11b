# 5,000 concurrent streams through nginx on one sselog-fcgi process, all
# receiving one published event, with nothing lost or duplicated: the
# smoke run of bench/streams.sh, kept in the suite so that it cannot rot.
build=$(dirname "$SSELOG_FCGI")
echo "1..2"
out=$(sh "$SRCDIR/bench/streams.sh" --build "$build" --streams 5000 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/# /'
if [ $status -eq 0 ]; then
	echo "ok 1 - 5000 streams all received the event"
else
	echo "not ok 1 - 5000 streams all received the event (exit $status)"
fi
if printf '%s\n' "$out" | grep -q '| streams open in the responder | 5000 |'; then
	echo "ok 2 - the responder held 5000 streams at once"
else
	echo "not ok 2 - the responder held 5000 streams at once"
fi
