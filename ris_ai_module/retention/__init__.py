"""Storage retention (issue 14): which received files may be deleted (``rule``) and the job that does it (``purge``)."""
