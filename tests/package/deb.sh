#!/bin/sh
# tests/package/deb.sh: the Debian package, built as a user would from
# the distribution's files (make distdir: no build directory, no .git)
# with `DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b`, and
# checked without being installed on this machine:
# - one package, sselog, with the files where the README says (dpkg-deb
#   -c), every file that `make install` installs among them; the web
#   server configs as examples, nginx's with the metrics location;
# - its systemd units pass systemd-analyze verify; sselog-prune.service
#   prunes nothing as shipped and prunes with the example of
#   /etc/default/sselog uncommented (its commands run as systemd would);
# - its maintainer scripts make the user sselog, /var/lib/sselog (2770)
#   and an empty log on installation, leave them on removal and remove
#   them on purge: run here in a mount namespace with a /var/lib and a
#   /run of their own, the user-management and systemd commands stood in
#   for by ones that record their arguments;
# - lintian finds no error, and the package overrides no lintian tag.
. "$SRCDIR/tests/tap.sh"

: "${BUILDDIR:?set BUILDDIR to the build directory}"

t_cleanup() {
	cd / && rm -rf "$T_WORK"
}
t_work deb

for tool in dpkg-buildpackage dh lintian dpkg-deb systemd-analyze unshare sqlite3; do
	command -v "$tool" >/dev/null 2>&1 ||
		bail "$tool is not installed (run build-aux/deps test)"
done
[ "$(id -u)" -eq 0 ] ||
	bail "needs root: the maintainer scripts run in a mount namespace"

# A make of our own, not a part of the one running the tests.
t_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL timeout -k 5 600 make "$@"
}

version=$(sed -n 's/^AC_INIT(\[sselog\], \[\([^]]*\)\].*/\1/p' \
    "$SRCDIR/configure.ac")
src=$T_WORK/sselog-$version
if t_make -s -C "$BUILDDIR" distdir "distdir=$src" >distdir.log 2>&1; then
	ok "make distdir: the distribution's files"
else
	not_ok "make distdir: the distribution's files" "$(tail -n 20 distdir.log)"
	bail "no tree to build the package from"
fi

# parallel=2: the machine's two cores (dpkg-buildpackage builds with one
# by default).
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" timeout -k 5 900 \
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    dpkg-buildpackage -us -uc -b) >build.log 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package"
else
	not_ok "dpkg-buildpackage -us -uc -b builds the package" \
	    "$(tail -n 30 build.log)"
fi

deb=$T_WORK/sselog_${version}_$(dpkg --print-architecture).deb
check "it is sselog_${version}_ARCH.deb (debian/changelog follows configure.ac)" \
    test -f "$deb"
[ -f "$deb" ] || bail "no package to check"

# One package, sselog, besides the debug symbols debhelper splits off.
packages=
for f in "$T_WORK"/*.deb; do
	packages="$packages $(dpkg-deb -f "$f" Package)"
done
is "one binary package, sselog (and its -dbgsym)" \
    "$(echo $packages | tr ' ' '\n' | grep -v -- '-dbgsym$' | sort | tr '\n' ' ')" \
    "sselog "

# The contents, one line per file: "MODE PATH" or "MODE PATH -> TARGET".
dpkg-deb -c "$deb" | awk '{ $2 = $3 = $4 = $5 = ""; print }' |
    sed 's/  */ /g; s| \./| /|; s|/$||' >contents
has() {
	grep -q "^$1 $2\$" contents
}
for f in /usr/bin/sselog /usr/sbin/sselog-fcgi; do
	check "$f, executable" has -rwxr-xr-x "$f"
done
for f in /usr/share/man/man1/sselog.1.gz /usr/share/man/man8/sselog-fcgi.8.gz \
    /usr/share/sselog/schema.sql /usr/share/sselog/postgresql.sql \
    /usr/share/sselog/examples.sql \
    /lib/systemd/system/sselog.socket /lib/systemd/system/sselog.service \
    /lib/systemd/system/sselog-prune.service \
    /lib/systemd/system/sselog-prune.timer \
    /etc/default/sselog /usr/share/doc/sselog/copyright; do
	check "$f" has -rw-r--r-- "$f"
done
mkdir ctrl
dpkg-deb -e "$deb" ctrl
is "/etc/default/sselog is its one conffile" "$(cat ctrl/conffiles)" \
    /etc/default/sselog
is "no directory of its own in /var (the maintainer scripts make it)" \
    "$(grep ' /var' contents)" ""
is "no lintian override in the package" \
    "$(grep 'lintian' contents)" ""

rm -rf root
dpkg-deb -x "$deb" root

# The web server configs as examples, named after their server, made
# for the installed paths.
for f in nginx.conf apache-proxy-fcgi.conf apache-fcgid.conf lighttpd.conf; do
	check "/usr/share/doc/sselog/examples/$f" \
	    test -f "root/usr/share/doc/sselog/examples/$f"
	is "... names no /usr/local and no @dir@" \
	    "$(grep -c '/usr/local\|@[a-z]*dir@' "root/usr/share/doc/sselog/examples/$f")" 0
done
for f in apache-fcgid.conf lighttpd.conf; do
	is "$f names the installed sselog-fcgi" \
	    "$(grep -v '^[[:space:]]*#' "root/usr/share/doc/sselog/examples/$f" |
	    grep -o '/[^ "=:{}]*bin/sselog-fcgi\b' | sort -u)" /usr/sbin/sselog-fcgi
done
check "nginx.conf reaches the socket of sselog.socket" \
    grep -q '^ *fastcgi_pass unix:/run/sselog/fcgi.sock;' \
    root/usr/share/doc/sselog/examples/nginx.conf
# The metrics (README.md, "Metrics") at /sselog-metrics: a location of
# its own that sets SSELOG_METRICS and lets only this host in.
awk '/^location = \/sselog-metrics \{/, /^\}/' \
    root/usr/share/doc/sselog/examples/nginx.conf >metrics.conf
check "nginx.conf has location = /sselog-metrics" test -s metrics.conf
check "... which sets SSELOG_METRICS 1, reaches the socket, denies all but 127.0.0.1" \
    sh -c 'grep -q "^ *fastcgi_param SSELOG_METRICS 1;" metrics.conf &&
    grep -q "^ *fastcgi_pass unix:/run/sselog/fcgi.sock;" metrics.conf &&
    grep -q "^ *allow 127.0.0.1;" metrics.conf && grep -q "^ *deny all;" metrics.conf'

# Every file `make install` installs is in the package: where make
# install puts it, or, for the units and the defaults, where systemd and
# the units look. (The tree dpkg-buildpackage configured and built, made
# to install again elsewhere.)
if t_make -s -C "$src" install "DESTDIR=$T_WORK/inst" >install.log 2>&1; then
	missing=
	n=0
	for f in $(cd inst && find . -type f | sed 's|^\.||' | sort); do
		n=$((n + 1))
		case $f in
		*/contrib/sselog.socket | */contrib/sselog*.service | */contrib/sselog-prune.timer)
			p=/lib/systemd/system/${f##*/} ;;
		*/contrib/sselog.default) p=/etc/default/sselog ;;
		/usr/share/man/*) p=$f.gz ;;
		*) p=$f ;;
		esac
		[ -f "root$p" ] || missing="$missing $f"
	done
	is "every file make install installs is in the package ($n of them)" \
	    "$missing" ""
else
	not_ok "make install DESTDIR=... in the package's build tree" \
	    "$(tail -n 20 install.log)"
fi

# The units as systemd reads them, their programs those of the package.
mkdir units
for u in sselog.socket sselog.service sselog-prune.service sselog-prune.timer; do
	sed "s|/usr/s*bin/sselog|$T_WORK/root&|" \
	    "root/lib/systemd/system/$u" >"units/$u"
done
if (cd units && timeout 30 systemd-analyze verify --man=no ./sselog.socket \
    ./sselog.service ./sselog-prune.service ./sselog-prune.timer) \
    >verify.log 2>&1; then
	ok "systemd-analyze verify accepts the four units"
else
	not_ok "systemd-analyze verify accepts the four units" "$(cat verify.log)"
fi
timer=root/lib/systemd/system/sselog-prune.timer
check "sselog-prune.timer: daily" grep -qx 'OnCalendar=daily' "$timer"
check "sselog-prune.timer: Persistent=true" grep -qx 'Persistent=true' "$timer"
check "sselog-prune.timer: RandomizedDelaySec" grep -q '^RandomizedDelaySec=' "$timer"
prune=units/sselog-prune.service
check "sselog-prune.service: Type=oneshot, as sselog, with /etc/default/sselog" \
    sh -c "grep -qx Type=oneshot $prune && grep -qx User=sselog $prune &&
    grep -qx EnvironmentFile=-/etc/default/sselog $prune"

# sselog-prune.service's commands as systemd runs them: the variables of
# the EnvironmentFile exported, $$ a $, $NAME as a word split at white
# space. run_prune DEFAULTS: the condition, then (if it passes) the
# command, on the log p.db.
condition=$(sed -n 's/^ExecCondition=//p' "$prune" | sed 's/\$\$/$/g')
command=$(sed -n 's/^ExecStart=//p' "$prune")
run_prune() {
	(set -a && . "./$1" && set +a && SSELOG_DB=$T_WORK/p.db &&
	    set -f && eval "$condition" && eval "$command")
}
old=$(($(date +%s) - 40 * 86400))000
root/usr/bin/sselog -d p.db init
sqlite3 p.db "INSERT INTO events (stream, data, created) VALUES ('build/1', 'old', $old)"
root/usr/bin/sselog -d p.db publish build/1 new >/dev/null
cp root/etc/default/sselog shipped
run_prune shipped >prune.out 2>&1
is "as shipped: the condition stops the run" "$?" 1
is "... and nothing is pruned" \
    "$(sqlite3 p.db 'SELECT group_concat(data) FROM events')" "old,new"
sed 's|^#\(SSELOG_PRUNE_ARGS="--older-than 30d"\)$|\1|' shipped >configured
check "/etc/default/sselog has the example --older-than 30d" \
    grep -q '^SSELOG_PRUNE_ARGS="--older-than 30d"$' configured
run_prune configured >prune.out 2>&1
is "with it: sselog prune runs and succeeds" "$?" 0
is "... prints what it did" "$(cat prune.out)" "pruned 1 event"
is "... and the event older than 30 days is gone" \
    "$(sqlite3 p.db 'SELECT group_concat(data) FROM events')" "new"

# The maintainer scripts, in a mount namespace: /var/lib and /run are
# empty tmpfs there (with /run/systemd/system, as on a machine that runs
# systemd), and the commands that would change this machine record
# their arguments in calls instead. runuser runs the package's sselog;
# install makes the directory without the owner (recorded).
mkdir shims
for c in adduser addgroup deluser delgroup getent runuser install id \
    dpkg-statoverride deb-systemd-helper deb-systemd-invoke systemctl; do
	cat >"shims/$c" <<EOF
#!/bin/sh
echo "$c \$*" >>"$T_WORK/calls"
state=$T_WORK/state
case $c in
addgroup) touch "\$state/group" ;;
adduser) touch "\$state/passwd" ;;
delgroup) rm -f "\$state/group" ;;
deluser) rm -f "\$state/passwd" ;;
getent) exec test -e "\$state/\$1" ;;
id) test -e "\$state/passwd" && echo 4242 && exit 0; exit 1 ;;
runuser) shift 3; p=\$1; shift; exec "$T_WORK/root\$p" "\$@" ;;
install)
	args=
	while [ \$# -gt 0 ]; do
		case \$1 in -o|-g) shift 2 ;; *) args="\$args \$1"; shift ;; esac
	done
	exec /usr/bin/install \$args ;;
dpkg-statoverride) exit 1 ;;
esac
exit 0
EOF
	chmod 755 "shims/$c"
done
mkdir state
cat >ns.sh <<'EOF'
set -u
mount -t tmpfs none /var/lib && mount -t tmpfs none /run &&
    mount -t tmpfs none /dev/shm || exit 1
mkdir -p /run/systemd/system
PATH=$T_WORK/shims:$PATH
export PATH
say() { echo "$1=$2"; }
sh ctrl/postinst configure "" >postinst.log 2>&1
say postinst $?
say dir "$(stat -c %a /var/lib/sselog 2>&1)"
say db "$(stat -c %a /var/lib/sselog/events.db 2>&1)"
say init "$(root/usr/bin/sselog -d /var/lib/sselog/events.db publish s x 2>&1)"
mv calls calls.install
sh ctrl/postinst configure 0.0.9 >>postinst.log 2>&1
say upgrade $?
say kept "$(root/usr/bin/sselog -d /var/lib/sselog/events.db streams 2>&1 | cut -f 1,2)"
mv calls calls.upgrade
sh ctrl/postrm remove >postrm.log 2>&1
say remove $?
say after_remove "$(ls /var/lib/sselog)"
# What a responder started by spawn-fcgi.sh and stopped leaves there.
mkdir /run/sselog && touch /run/sselog/fcgi.sock /run/sselog/sselog-fcgi.pid
# ... and in /dev/shm: its metrics file (the user sselog is uid 4242
# here), beside another user's.
touch /dev/shm/sselog-metrics-1-9-abc /dev/shm/sselog-metrics-1-7-def
chown 4242 /dev/shm/sselog-metrics-1-9-abc
sh ctrl/postrm purge >>postrm.log 2>&1
say purge $?
say after_purge "$(ls -d /var/lib/sselog /run/sselog 2>&1 | grep -v 'No such' )"
say shm "$(ls /dev/shm)"
mv calls calls.purge
EOF
T_WORK=$T_WORK unshare -m --propagation private sh ns.sh >ns.out 2>&1
got() {
	sed -n "s/^$1=//p" ns.out
}
is "postinst configure (installation): exit 0" "$(got postinst)" 0 ||
    echo "$(cat postinst.log)" | sed 's/^/#   /'
check "... makes the system group sselog" \
    grep -qx 'addgroup --system --quiet sselog' calls.install
check "... and the system user sselog in it, home /var/lib/sselog, no login" \
    grep -qx "adduser --system --quiet --ingroup sselog --home /var/lib/sselog --no-create-home --shell /usr/sbin/nologin --gecos sselog event log sselog" calls.install
check "... makes /var/lib/sselog owned by sselog:sselog" \
    grep -qx 'install -d -o sselog -g sselog -m 2770 /var/lib/sselog' calls.install
is "... mode 2770 (set-group-id, as the README says)" "$(got dir)" 2770
check "... makes the log as the user sselog" \
    grep -qx 'runuser -u sselog -- /usr/bin/sselog -d /var/lib/sselog/events.db init' calls.install
is "... the log, mode 660, in which one can publish" "$(got db)/$(got init)" 660/1
check "... enables sselog.socket and sselog-prune.timer" \
    sh -c 'grep -qx "deb-systemd-helper enable sselog.socket" calls.install &&
    grep -qx "deb-systemd-helper enable sselog-prune.timer" calls.install'
check "... starts sselog.socket" grep -q '^deb-systemd-invoke start .*sselog.socket' calls.install
is "... never runs sselog-prune.service (the timer does)" \
    "$(grep -h 'deb-systemd-invoke.*sselog-prune.service' calls.install calls.upgrade)" ""
is "postinst configure (upgrade): exit 0" "$(got upgrade)" 0
is "... leaves the user and the log as they are" \
    "$(grep -c 'adduser\|addgroup\|install\|runuser' calls.upgrade)/$(got kept)" \
    "0/$(printf 's\t1')"
is "postrm remove: exit 0, the log stays" "$(got remove)/$(got after_remove)" 0/events.db
is "postrm purge: exit 0" "$(got purge)" 0
is "... removes /var/lib/sselog and /run/sselog (with the socket left in it)" \
    "$(got after_purge)" ""
is "... removes sselog's metrics file from /dev/shm, not another user's" \
    "$(got shm)" sselog-metrics-1-7-def
check "... removes the user and the group sselog" \
    sh -c 'grep -qx "deluser --system --quiet sselog" calls.purge &&
    grep -qx "delgroup --system --quiet sselog" calls.purge'

# lintian on the package: no error (the warnings and notes, if any, as
# comments).
lintian --display-info "$deb" 2>&1 | grep -v 'running with root privileges' >lintian.log
sed 's/^/# lintian: /' lintian.log
is "lintian: no error" "$(grep '^E:' lintian.log)" ""

done_testing
