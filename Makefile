# Two commands on a fresh machine: `make run` and `make test` (Python 3.11+ and make only).
PYTHON ?= python3
PORT ?= 8000
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python

.PHONY: install fonts browser run test lint bench format schema clean

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

# The browser tests (tests/browser) drive Debian's Chromium headless through Playwright, never a
# browser build of Playwright's own. BAOHAN_CHROMIUM points at another Chromium instead. A CJK font
# (Debian's fonts-wqy-zenhei) comes too, so that screenshots show Chinese text, not empty boxes, and
# Chromium's Chinese locale (chromium-l10n), so that date inputs read yyyy/mm/dd as a bidder's do.
CHROMIUM := /usr/bin/chromium
browser:
	@packages=""; \
	if [ -n "$$BAOHAN_CHROMIUM" ]; then \
		[ -x "$$BAOHAN_CHROMIUM" ] || { echo "BAOHAN_CHROMIUM=$$BAOHAN_CHROMIUM is not an executable" >&2; exit 1; }; \
	elif [ ! -x $(CHROMIUM) ]; then packages="chromium"; fi; \
	[ -f $(SYSTEM_FONT) ] || packages="$$packages fonts-wqy-zenhei"; \
	[ -n "$$BAOHAN_CHROMIUM" ] || [ -f /usr/lib/chromium/locales/zh-CN.pak ] || packages="$$packages chromium-l10n"; \
	if [ -n "$$packages" ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo -n"; fi; \
		apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
		echo "Installing Debian's $$packages for the browser tests"; \
		$$apt install -y -q $$packages || { $$apt update -qq && $$apt install -y -q $$packages; }; \
		[ -n "$$BAOHAN_CHROMIUM" ] || [ -x $(CHROMIUM) ] || { echo "$(CHROMIUM) is still missing" >&2; exit 1; }; \
	fi

run: install fonts
	$(PY) manage.py devrun --port $(PORT)

test: install fonts browser
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

bench: install fonts
	$(PY) bench/all.py

clean:
	rm -rf .venv .tools .data staticfiles
