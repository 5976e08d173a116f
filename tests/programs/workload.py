# Allocation-heavy, deterministic Python workload for tests/programs.sh: builds
# and drops large dicts, lists and strings, uses json and re. Its output must
# be byte-identical on the system allocator and on Mosaic.
import gc
import hashlib
import json
import random
import re
import sys

scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
rnd = random.Random(20240601)


def digest(x):
    if isinstance(x, str):
        x = x.encode()
    return hashlib.sha256(x).hexdigest()[:20]


# dicts of many sizes, serialized, parsed back, dropped
for rnd_no in range(4 * scale):
    n = 15000 * (rnd_no + 1)
    d = {f"key{i}_{rnd_no}": [i, str(i) * (i % 17 + 1), {"n": i * rnd_no, "f": i / 7}]
         for i in range(n)}
    s = json.dumps(d, sort_keys=True)
    back = json.loads(s)
    assert back == d
    print("dict", rnd_no, len(d), len(s), digest(s))
    del d, back, s
    gc.collect()

# lists: growing, sorting, slicing, nested
lst = [rnd.random() for _ in range(100000 * scale)]
lst.sort()
print("list", len(lst), digest(repr(lst[::997])))
nested = [[j for j in range(i % 50)] for i in range(40000)]
print("nested", sum(map(len, nested)), digest(repr(nested[-3:])))
del lst, nested

# strings: concatenation, join, split, replace, big and small
parts = ["".join(chr(97 + (i * k) % 26) for k in range(i % 300)) for i in range(8000)]
big = "|".join(parts) * (2 * scale)
print("string", len(big), digest(big))
words = big.split("|")
print("split", len(words), digest("".join(sorted(set(words))[:1000])))
up = big.upper().replace("AB", "<ab>")
print("replace", len(up), digest(up))
del parts, big, words, up

# re: findall, sub with a function, split, many compiled patterns
text = " ".join(f"user{i}@host{i % 97}.example.com id={i * 31 % 1000} t{i % 7}"
                for i in range(50000 * scale))
emails = re.findall(r"[a-z0-9]+@[a-z0-9]+\.example\.com", text)
print("findall", len(emails), digest("".join(emails[::1000])))
subbed = re.sub(r"id=(\d+)", lambda m: "ID" + str(int(m.group(1)) * 2), text)
print("sub", len(subbed), digest(subbed))
pats = [re.compile(rf"host{i}\b") for i in range(97)]
print("patterns", sum(len(p.findall(text[:200000])) for p in pats))
print("resplit", len(re.split(r"\s+t\d\s*", text)))

# json of a deep, mixed structure
tree = {"root": [{"id": i, "tags": [f"t{j}" for j in range(i % 9)],
                  "child": {"v": "x" * (i % 200)}} for i in range(20000)]}
enc = json.dumps(tree, indent=1)
print("tree", len(enc), digest(enc), json.loads(enc)["root"][12345 % 20000]["child"]["v"][:5])
print("done")
