# Two commands on a fresh machine: `make run` and `make test` (Python 3.11+ and make only).
PYTHON ?= python3
PORT ?= 8000
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python

.PHONY: install fonts run test lint bench format schema clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --python $(PYTHON)
	touch $@

install: .venv/.installed

# The CJK font embedded in generated PDFs (WenQuanYi Zen Hei, GPL with the font exception), from
# the machine's own copy or Debian's package; BAOHAN_CJK_FONT points elsewhere.
FONT := .data/fonts/wqy-zenhei.ttc
SYSTEM_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
$(FONT):
	@mkdir -p .data/fonts
	@if [ -f $(SYSTEM_FONT) ]; then cp $(SYSTEM_FONT) $@; else \
		rm -rf .data/fonts/deb && mkdir -p .data/fonts/deb && \
		(cd .data/fonts/deb && (apt-get download -q fonts-wqy-zenhei || \
			(apt-get update -qq && apt-get download -q fonts-wqy-zenhei))) && \
		dpkg-deb -x .data/fonts/deb/fonts-wqy-zenhei_*.deb .data/fonts/deb/root && \
		cp .data/fonts/deb/root$(SYSTEM_FONT) $@ && rm -rf .data/fonts/deb; fi

fonts: $(FONT)

run: install fonts
	$(PY) manage.py devrun --port $(PORT)

test: install fonts
	$(PY) -m pytest

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

schema: install
	PYTHONPATH=platform $(PY) -m baohan.rulepacks.schema

bench: install
	$(PY) bench/onboard.py

clean:
	rm -rf .venv .tools .data staticfiles
