# tests/cli/install.sh: `make install` with a prefix of its own puts every
# file under it, the responder (a daemon, sselog-fcgi(8)) in sbin, and the
# configs of contrib/ name the files where they were installed, never
# /usr/local: they are made from contrib/*.in with the directories that
# make install uses, even when the build was made with others (the
# configured prefix here) and only `make install prefix=...` names the
# new one. The installed systemd units (sselog-prune.service and its
# timer among them) pass systemd-analyze verify.
. "$SRCDIR/tests/cli/lib.sh"

: "${BUILDDIR:?set BUILDDIR to the build directory}"

# A make of our own, not a part of the one running the tests (its
# command-line variables, TESTS among them, and its jobserver).
t_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    timeout -k 5 120 "${MAKE:-make}" -s -C "$BUILDDIR" "$@"
}

# The build directory's own contrib/ files follow its configured
# directories again when the test ends, whatever happened in between.
t_cleanup_install() {
	t_make contrib/install-dirs all >/dev/null 2>&1
	t_cleanup
}
trap t_cleanup_install EXIT

prefix=$T_WORK/opt/sselog
contrib=$prefix/share/sselog/contrib
if t_make install "prefix=$prefix" >install.log 2>&1; then
	ok "make install prefix=$prefix succeeds"
else
	not_ok "make install prefix=$prefix succeeds" "$(tail -n 20 install.log)"
fi

check "sselog-fcgi is installed in \$prefix/sbin" test -x "$prefix/sbin/sselog-fcgi"
check "and not in \$prefix/bin" test ! -e "$prefix/bin/sselog-fcgi"
check "sselog is installed in \$prefix/bin" test -x "$prefix/bin/sselog"
check "sselog-fcgi(8) is installed" test -f "$prefix/share/man/man8/sselog-fcgi.8"
is "the log viewer is installed in \$prefix/share/sselog/www" \
    "$(cd "$prefix/share/sselog/www" 2>/dev/null && ls)" \
    "$(printf 'viewer.css\nviewer.html\nviewer.js')"

# Every installed file that starts the responder names it where it is.
for f in sselog.service spawn-fcgi.sh lighttpd.conf apache-fcgid.conf; do
	is "contrib/$f names the installed sselog-fcgi" \
	    "$(grep -v '^[[:space:]]*#' "$contrib/$f" |
	    grep -o '/[^ "=:{}]*bin/sselog-fcgi\b' | sort -u)" \
	    "$prefix/sbin/sselog-fcgi"
done

# Every path below the prefix that a config names exists (the responder,
# the files beside the configs, nginx.conf in its own include comment).
missing=
named=0
for p in $(cat "$contrib"/* | grep -o "$prefix/[^ \"');}]*" | sort -u); do
	named=$((named + 1))
	[ -e "$p" ] || missing="$missing $p"
done
is "the installed paths the configs name exist ($named of them)" \
    "$missing" ""
check "nginx.conf's include comment names the installed nginx.conf" \
    grep -q "^#  *include $contrib/nginx.conf;" "$contrib/nginx.conf"

# Nothing installed refers to /usr/local (a config made for another
# prefix), and no template placeholder is left unsubstituted.
is "no installed contrib file names /usr/local" \
    "$(grep -l /usr/local "$contrib"/* | sed 's|.*/||')" ""
is "no installed contrib file has an @dir@ left" \
    "$(grep -l '@[a-z]*dir@' "$contrib"/* | sed 's|.*/||')" ""

# sselog-prune.service runs the installed sselog.
is "contrib/sselog-prune.service names the installed sselog" \
    "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$contrib/sselog-prune.service")" \
    "$prefix/bin/sselog"

# The units as systemd reads them (offline: nothing is started). ExecStart
# names a program that exists: the one installed above.
if command -v systemd-analyze >/dev/null 2>&1; then
	if (cd "$contrib" && timeout 30 systemd-analyze verify --man=no \
	    ./sselog.socket ./sselog.service ./sselog-prune.service \
	    ./sselog-prune.timer) >verify.log 2>&1; then
		ok "systemd-analyze verify accepts the installed units"
	else
		not_ok "systemd-analyze verify accepts the installed units" \
		    "$(cat verify.log)"
	fi
else
	ok "# SKIP systemd-analyze is not installed (apt-get install systemd)"
fi

# make uninstall takes back every file it installed.
if t_make uninstall "prefix=$prefix" >uninstall.log 2>&1; then
	ok "make uninstall prefix=$prefix succeeds"
else
	not_ok "make uninstall prefix=$prefix succeeds" \
	    "$(tail -n 20 uninstall.log)"
fi
is "no file is left below the prefix" "$(find "$prefix" -type f)" ""

done_testing
