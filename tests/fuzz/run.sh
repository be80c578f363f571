#!/bin/sh
# run.sh: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) and run each for a bounded time.
#
#	tests/fuzz/run.sh [target...]	(default: addr options linemode proxy rules)
#
# FUZZ_SECONDS (default 30) per target; FUZZ_BUILDDIR to reuse a build.
# The build is a copy of the source tree (the tree itself may be
# configured in place, which forbids a VPATH build).  New corpus entries
# go to the build dir, never into tests/fuzz/corpus; a crash leaves its
# input there and makes the script exit 1.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
bld=${FUZZ_BUILDDIR:-${TMPDIR:-/tmp}/echod-fuzz.$(id -u)}
targets=${*:-addr options linemode proxy rules}

if [ ! -x "$bld/tests/fuzz/fuzz_rules" ]; then
	rm -rf "$bld"
	mkdir -p "$bld"
	if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
		(cd "$src" && git ls-files -z | xargs -0 tar -cf -) |
		    (cd "$bld" && tar -xf -)
	else
		(cd "$src" && tar -cf - --exclude=.deps --exclude='*.o' .) |
		    (cd "$bld" && tar -xf -)
	fi
	cd "$bld"
	[ -x configure ] || autoreconf -fi >/dev/null
	./configure -q CC=clang --enable-fuzzing
	make -j"$(nproc 2>/dev/null || echo 2)" tests/fuzz/fuzz_addr \
	    tests/fuzz/fuzz_options tests/fuzz/fuzz_linemode \
	    tests/fuzz/fuzz_proxy tests/fuzz/fuzz_rules >/dev/null
fi
cd "$bld"
rc=0
for t in $targets; do
	mkdir -p "corpus-$t" "crash-$t"
	echo "fuzz: $t for ${secs}s"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	"./tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="crash-$t/" \
	    "corpus-$t" "$src/tests/fuzz/corpus/$t" 2>"fuzz-$t.log" || {
		rc=1
		echo "fuzz: $t FAILED, see $bld/fuzz-$t.log and $bld/crash-$t/"
		tail -30 "fuzz-$t.log"
	}
	grep -E 'stat::number_of_executed_runs|stat::new_units_added' \
	    "fuzz-$t.log" | sed "s/^/fuzz: $t /" || true
done
exit $rc
