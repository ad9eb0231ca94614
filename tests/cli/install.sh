# make install and make uninstall: every tool and man page into DESTDIR/PREFIX, and back out.
. "${ELSA_TOP:-.}/tests/lib.sh"
D=$T/root
ok "make install DESTDIR PREFIX" make -s -C "$TOP" install O="$B" DESTDIR="$D" PREFIX=/usr
for t in tokenize embed encode train evaluate view sweep report; do
	check "elsa-$t and its man page are installed" "[ -x '$D/usr/bin/elsa-$t' ] && [ -f '$D/usr/share/man/man1/elsa-$t.1' ]"
done
check "the formats' pages and elsa(7) are installed" \
	"[ -f '$D/usr/share/man/man5/elsa-stream.5' ] && [ -f '$D/usr/share/man/man5/elsa-tokens.5' ] && [ -f '$D/usr/share/man/man7/elsa.7' ]"
check "an installed tool runs" "'$D/usr/bin/elsa-view' --version | grep -q '^elsa-view [0-9]'"
ok "make uninstall" make -s -C "$TOP" uninstall O="$B" DESTDIR="$D" PREFIX=/usr
check "uninstall leaves no file" "[ -z \"\$(find '$D' -type f)\" ]"
done_testing
