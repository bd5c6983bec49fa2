"""Template, script and stylesheet of the step-through HTML page (see viz.html_page)."""
