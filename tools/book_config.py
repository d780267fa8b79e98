"""Write the book's configuration for one build, with the repository it is published from.

Usage: python tools/book_config.py _config.yml STAGED.yml REPOSITORY  (run by `make book`).

``_config.yml`` configures the Binder launch buttons and the repository and
issue links of the page header, all of which need the address of the
repository on GitHub or GitLab. That address belongs to whoever publishes the
book, so it is given at build time: ``make book REPOSITORY=https://github.com/OWNER/NAME``,
by default the git remote ``origin``. A repository that is not on GitHub or
GitLab (a local clone, say) cannot be launched on Binder; the book is then
built without those buttons, and this says so.
"""

import re
import sys
from pathlib import Path

import yaml

REMOTE = re.compile(
    r"^(?:https://|ssh://git@|git@)(?P<host>github\.com|gitlab\.com)[:/]"
    r"(?P<path>[\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)
BUTTONS = ("use_repository_button", "use_issues_button")


def repository_url(remote: str) -> str | None:
    """``https://HOST/OWNER/NAME`` for a GitHub or GitLab remote in any of git's spellings, else None."""
    match = REMOTE.match(remote.strip())
    return f"https://{match['host']}/{match['path']}" if match else None


def staged_config(config: dict, url: str | None) -> dict:
    """The configuration with ``repository.url`` set, or with every button that needs it turned off."""
    staged = {**config, "repository": {**config.get("repository", {})}, "html": {**config.get("html", {})}}
    if url:
        staged["repository"]["url"] = url
    else:
        staged.pop("launch_buttons", None)
        staged["html"].update(dict.fromkeys(BUTTONS, False))
    return staged


def main(source: str, target: str, remote: str) -> None:
    url = repository_url(remote)
    if url is None:
        print(
            f"REPOSITORY ({remote.strip() or 'unset'}; by default the git remote origin) is not on GitHub or GitLab: "
            "the pages are built without Binder and repository buttons; set REPOSITORY=https://github.com/OWNER/NAME to add them."
        )
    config = yaml.safe_load(Path(source).read_text())
    text = yaml.safe_dump(staged_config(config, url), sort_keys=False, allow_unicode=True)
    partial = Path(f"{target}.partial")
    partial.write_text(text)
    partial.replace(target)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.splitlines()[2])
    main(*sys.argv[1:])
