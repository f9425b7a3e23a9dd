"""Put the guides (docs/*.md) on the docs site, in the places antsibull-docs made for them.

antsibull-docs takes a collection's extra docs only as RST (docs/docsite/rst/, listed in
docs/docsite/extra-docs.yml, linked from the collection's index page). Each guide has a placeholder
there under its own name; this replaces the placeholder's copy in the generated tree with the guide's
Markdown, which Sphinx renders with MyST. So docs/*.md stay the only text of the guides, and their links
to each other (``role.md``, ``awx.md#credentials``) work on the site as they do on GitHub. Links that
leave docs/ (``../extensions/ee/``) point at the repository (galaxy.yml ``repository``) instead.

Fails, naming the file, when a guide is not listed in extra-docs.yml or a listed guide has no Markdown
or no placeholder. Usage: python docsite_guides.py COLLECTION_ROOT GENERATED_DOCSITE_DIR
"""
import os
import re
import sys

import yaml

LINK = re.compile(r'(\]\()(\.\./[^)#\s]+)')


def guides(root):
    """The toctree refs of extra-docs.yml, checked against docs/*.md and the placeholders."""
    with open(os.path.join(root, 'docs', 'docsite', 'extra-docs.yml'), encoding='utf-8') as handle:
        index = yaml.safe_load(handle)
    refs = [entry['ref'] if isinstance(entry, dict) else entry
            for section in index['sections'] for entry in section['toctree']]
    docs = os.path.join(root, 'docs')
    errors = ['docs/%s is not on the docs site: add "%s" to docs/docsite/extra-docs.yml and a placeholder '
              'docs/docsite/rst/%s.rst' % (name, name[:-3], name[:-3])
              for name in sorted(os.listdir(docs)) if name.endswith('.md') and name[:-3] not in refs]
    for ref in refs:
        for path in ('%s.md' % ref, os.path.join('docsite', 'rst', '%s.rst' % ref)):
            if not os.path.isfile(os.path.join(docs, path)):
                errors.append('docs/docsite/extra-docs.yml lists %s, but docs/%s does not exist' % (ref, path))
    if errors:
        raise SystemExit('\n'.join(errors))
    return refs


def outside_links(text, root, repository):
    """Links that leave docs/ (relative to a guide) point at the repository."""
    def repl(match):
        rel = os.path.normpath(os.path.join('docs', match.group(2)))
        kind = 'tree' if os.path.isdir(os.path.join(root, rel)) else 'blob'
        return '%s%s/%s/main/%s' % (match.group(1), repository.rstrip('/'), kind, rel)
    return LINK.sub(repl, text)


def main(root, docsite):
    with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
        repository = yaml.safe_load(handle)['repository']
    for ref in guides(root):
        placeholder = os.path.join(docsite, ref + '.rst')
        if not os.path.isfile(placeholder):
            raise SystemExit('antsibull-docs did not copy the placeholder of docs/%s.md to %s' % (ref, placeholder))
        os.remove(placeholder)
        with open(os.path.join(root, 'docs', ref + '.md'), encoding='utf-8') as handle:
            text = handle.read()
        with open(os.path.join(docsite, ref + '.md'), 'w', encoding='utf-8') as handle:
            handle.write(outside_links(text, root, repository))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
