/* Harness for test/libbpf-diff/relocate-diff.ts: libbpf btf__relocate on raw BTF files (see there). */
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include "btf.h"
#include "libbpf.h"

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN) { vfprintf(stdout, fmt, args); fputs("\n@@\n", stdout); }
	return 0;
}

/* argv: vmlinux.raw dist.raw split.raw ... triples repeated */
int main(int argc, char **argv)
{
	libbpf_set_print(print_fn);
	for (int i = 1; i + 2 < argc; i += 3) {
		struct btf *vm = btf__parse_raw(argv[i]);
		struct btf *dist = vm ? btf__parse_raw(argv[i + 1]) : NULL;
		struct btf *split = dist ? btf__parse_raw_split(argv[i + 2], dist) : NULL;
		if (!vm || !dist || !split) { printf("CASE %s PARSEFAIL\n", argv[i + 2]); fflush(stdout); continue; }
		int err = btf__relocate(split, vm);
		printf("CASE %s RESULT %d\n", argv[i + 2], err);
		fflush(stdout);
		btf__free(split); btf__free(dist); btf__free(vm);
	}
	return 0;
}
