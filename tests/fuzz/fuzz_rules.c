/* fuzz_rules: the rule-set loader (server/clinical/rules.c).
 * Input byte 0 chooses the mode: even = the rest is a whole rule-set
 * document; odd = the rest is a JSON object merged key by key (recursively)
 * into the default rule set (schema/rules/il2-default.json, read once at
 * start; WARDD_RULES overrides the path), so that mutations reach deep
 * into rules the validator would otherwise refuse at the top.
 * Built by `make fuzz` (build/fuzz/fuzz_rules, run from the repository
 * root); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_rules.c server/clinical/rules.c ... -ljansson -o /tmp/fuzz_rules
 * Properties: the loader returns a rule set or at least one error, never
 * both and never neither; errors are NUL-terminated sentences. */
#include "rules.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *base_doc;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path =
        getenv("WARDD_RULES") ? getenv("WARDD_RULES") : "schema/rules/il2-default.json";
    json_error_t jerr;

    (void)argc;
    (void)argv;
    base_doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!base_doc) {
        fprintf(stderr, "fuzz_rules: cannot read %s (%s): run from the repository root\n", path,
                jerr.text);
        exit(1);
    }
    return 0;
}

static void load(const json_t *doc)
{
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(doc, "fuzz.json", &errs);

    if ((rs != NULL) == (errs.n > 0))
        abort();
    for (size_t i = 0; i < errs.n; i++)
        if (strnlen(errs.items[i].text, sizeof errs.items[i].text) >= sizeof errs.items[i].text)
            abort();
    if (rs && rules_term_index(rs, "no-such-term-id") != -1)
        abort();
    rules_unref(rs);
    rules_errors_free(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc, *patch;

    if (size < 1 || size > 256 * 1024)
        return 0;
    patch = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!patch)
        return 0;
    if (data[0] & 1) {
        if (!json_is_object(patch)) {
            json_decref(patch);
            return 0;
        }
        doc = json_deep_copy(base_doc);
        json_object_update_recursive(doc, patch);
        load(doc);
        json_decref(doc);
    } else {
        load(patch);
    }
    json_decref(patch);
    return 0;
}
