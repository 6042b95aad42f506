"""``kdeps-expr check`` on httpClient, sql, exec and python blocks: golden errors and warnings.

Keys come from the schema; scripts are read for their language at load, so a template
block that cannot stand where it is stops the load at its character; literal values the
executor would refuse, missing keys and unknown connections are errors too. Templates in
python scripts and SQL queries, which KDeps splices into the code, are warnings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _workflows import write_workflow

from kdeps_expr.cli import main

HEADER = """\
metadata: {name: demo, version: "1", targetActionId: main}
settings:
  sqlConnections:
    main: {connection: "sqlite:///x.db"}
"""


def check(tmp_path: Path, resource: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    files = {"workflow.yaml": HEADER, "resources/main.yaml": "actionId: main\n" + resource}
    code = main(["check", str(write_workflow(tmp_path, files))])
    return code, capsys.readouterr().out.replace(str(tmp_path), "WF")


ERRORS = [
    (
        "unknown-key",
        "exec:\n  comand: ls\n",
        "WF/resources/main.yaml:3:3: unknown key 'comand' in exec; did you mean 'command'? "
        "(known: args, command, env, timeout, timeoutDuration, workingDir)\n |   comand: ls\n"
        " | ..^",
    ),
    (
        "shell-arithmetic",
        "exec:\n  command: echo $(( {{ get('n') }} + 1 ))\n",
        "WF/resources/main.yaml:3:21: a template cannot stand here in a shell script: "
        "arithmetic evaluates its operands' text; pass the value to a command instead\n"
        " |   command: echo $(( {{ get('n') }} + 1 ))\n | ....................^",
    ),
    (
        "shell-sh-c-argument",
        "exec:\n  command: sh\n  args: [-c, \"echo ${{ get('x') }}\"]\n",
        "WF/resources/main.yaml:4:21: a template cannot stand here in a shell script: right "
        "after '$' it would be read as a variable name\n"
        " |   args: [-c, \"echo ${{ get('x') }}\"]\n | ....................^",
    ),
    (
        "heredoc-delimiter",
        "exec:\n  command: |\n    cat <<EOF\n    hi\n    EOF\n",
        "WF/resources/main.yaml:4:9: unclosed '<<' (<< opens a template block: write \\<< for "
        "a here-document or a shift, or switch << off with settings.templates.delimiters)\n"
        " |     cat <<EOF\n | ........^",
    ),
    (
        "python-raw-string",
        "python:\n  script: print(r'{{ get('x') }}')\n",
        "WF/resources/main.yaml:3:19: a template cannot stand here in a python script: a raw "
        "string (r'…') has no escapes; use a plain string\n"
        " |   script: print(r'{{ get('x') }}')\n | ..................^",
    ),
    (
        "sql-name-from-a-value",
        "sql:\n  connectionName: main\n  query: SELECT * FROM t_{{ get('t') }}\n",
        "WF/resources/main.yaml:4:26: a template cannot stand here in a SQL query: a table or "
        "column name cannot come from a value\n"
        " |   query: SELECT * FROM t_{{ get('t') }}\n | .........................^",
    ),
    (
        "sql-unknown-connection",
        "sql:\n  connectionName: mian\n  query: SELECT 1\n",
        "WF/resources/main.yaml:3:19: unknown connection 'mian'; did you mean 'main'? "
        "(settings.sqlConnections: main)\n |   connectionName: mian\n | ..................^",
    ),
    (
        "sql-no-connection",
        "sql:\n  query: SELECT 1\n",
        "WF/resources/main.yaml:3:3: sql needs a connectionName (a name in "
        "settings.sqlConnections) or a connection URL\n |   query: SELECT 1\n | ..^",
    ),
    (
        "sql-inline-connection",
        "sql:\n  connection: nonsense\n  query: SELECT 1\n",
        "WF/resources/main.yaml:3:15: sql.connection: not a database URL: Could not parse "
        "SQLAlchemy URL from given URL string\n |   connection: nonsense\n | ..............^",
    ),
    (
        "sql-no-query",
        "sql: {connectionName: main}\n",
        "WF/resources/main.yaml:2:6: sql needs a query, or queries\n"
        " | sql: {connectionName: main}\n | .....^",
    ),
    (
        "sql-format-and-rows",
        "sql:\n  connectionName: main\n  query: SELECT 1\n  format: xml\n  maxRows: 0\n",
        "WF/resources/main.yaml:5:11: unknown sql format 'xml' (json, csv, table)\n"
        " |   format: xml\n | ..........^\n"
        "WF/resources/main.yaml:6:12: sql.maxRows must be a whole number of at least 1\n"
        " |   maxRows: 0\n | ...........^",
    ),
    (
        "sql-pool",
        "sql:\n  connectionName: main\n  query: SELECT 1\n  pool: {maxIdleTime: soon}\n",
        "WF/resources/main.yaml:5:23: sql.pool.maxIdleTime: invalid duration 'soon': use one or "
        "more <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'\n"
        " |   pool: {maxIdleTime: soon}\n | ......................^",
    ),
    (
        "exec-empty-command",
        'exec: {command: ""}\n',
        "WF/resources/main.yaml:2:17: exec needs a command (a shell script, or a program with "
        'args)\n | exec: {command: ""}\n | ................^',
    ),
    (
        "python-no-script",
        "python: {args: [a]}\n",
        "WF/resources/main.yaml:2:9: python needs a script, or a scriptFile\n"
        " | python: {args: [a]}\n | ........^",
    ),
    (
        "http-values",
        "httpClient:\n  url: ftp://x\n  method: FETCH\n  auth: {type: digest}\n"
        "  retry: {maxAttempts: 0}\n",
        "WF/resources/main.yaml:3:8: httpClient.url must start with http:// or https://\n"
        " |   url: ftp://x\n | .......^\n"
        "WF/resources/main.yaml:4:11: unknown HTTP method 'FETCH' (DELETE, GET, HEAD, OPTIONS, "
        "PATCH, POST, PUT)\n |   method: FETCH\n | ..........^\n"
        "WF/resources/main.yaml:5:16: unknown auth type 'digest' (basic, bearer, oauth2, "
        "api_key)\n |   auth: {type: digest}\n | ...............^\n"
        "WF/resources/main.yaml:6:24: httpClient.retry.maxAttempts must be a whole number of "
        "at least 1\n |   retry: {maxAttempts: 0}\n | .......................^",
    ),
    (
        "http-no-url",
        "httpClient: {method: GET}\n",
        "WF/resources/main.yaml:2:13: httpClient needs a url\n"
        " | httpClient: {method: GET}\n | ............^",
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS]
)
def test_check_refuses(
    tmp_path: Path, resource: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(tmp_path, resource, capsys)
    count = expected.count("\nWF/") + 1
    plural = "error" if count == 1 else "errors"
    assert (code, out) == (1, f"{expected}\nWF: 1 resource, {count} {plural}, 0 warnings\n")


def test_check_refuses_bad_sql_connections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = HEADER + (
        '    bad: {connection: "nonsense"}\n'
        '    pooled: {connection: "sqlite:///y.db", pool: {maxConnections: 0}}\n'
        "    empty: {pool: {}}\n"
    )
    files = {"workflow.yaml": header, "resources/main.yaml": "actionId: main\n"}
    code = main(["check", str(write_workflow(tmp_path, files))])
    out = capsys.readouterr().out.replace(str(tmp_path), "WF")
    assert (code, out) == (
        1,
        "WF/workflow.yaml:5:23: settings.sqlConnections.bad: not a database URL: Could not "
        "parse SQLAlchemy URL from given URL string\n"
        ' |     bad: {connection: "nonsense"}\n | ......................^\n'
        "WF/workflow.yaml:6:67: settings.sqlConnections.pooled.pool.maxConnections must be a "
        "whole number of at least 1\n"
        ' |     pooled: {connection: "sqlite:///y.db", pool: {maxConnections: 0}}\n'
        " | ..................................................................^\n"
        "WF/workflow.yaml:7:12: settings.sqlConnections.empty needs a connection (a database "
        "URL)\n |     empty: {pool: {}}\n | ...........^\n"
        "WF: 1 resource, 3 errors, 0 warnings\n",
    )


PYTHON_CODE = (
    "warning: a template in python code: its value is written here as a Python literal, but "
    "KDeps splices its text into the script (code injection, and Go's rendering of lists and "
    "maps); pass the value in args and read it from sys.argv"
)
PYTHON_STRING = (
    "warning: a template in a python string: its value is escaped here for the string, but "
    "KDeps splices its text raw (a quote in the value ends the string and runs code); pass "
    "the value in args and read it from sys.argv"
)
SQL_VALUE = (
    "warning: a template in a SQL query: its value is bound here as a parameter, but KDeps "
    "splices its text into the query (SQL injection); write $1, $2… in the query and the "
    "values in params"
)
SQL_TEXT = (
    "warning: this template builds SQL text from values by concatenation: here its whole "
    "value is bound as one parameter and never read as SQL (KDeps splices it: SQL "
    "injection); write the SQL in the query, $1, $2… where the values go, and the values in "
    "params"
)

WARNINGS = [
    (
        "python-code-string-comment",
        "python:\n  script: |\n    # {{ get('a') }}\n    data = {{ get('items') }}\n"
        "    note = \"{{ get('note') }}\"\n",
        f"WF/resources/main.yaml:5:12: {PYTHON_CODE}\n |     data = {{{{ get('items') }}}}\n"
        " | ...........^\n"
        f"WF/resources/main.yaml:6:13: {PYTHON_STRING}\n"
        " |     note = \"{{ get('note') }}\"\n | ............^",
    ),
    (
        "sql-values",
        "sql:\n  connectionName: main\n"
        "  query: SELECT 1 WHERE a = {{ get('a') }} AND b LIKE '%{{ get('b') }}%' -- {{ c }}\n",
        f"WF/resources/main.yaml:4:29: {SQL_VALUE}\n"
        " |   query: SELECT 1 WHERE a = {{ get('a') }} AND b LIKE '%{{ get('b') }}%' -- {{ c }}\n"
        " | ............................^\n"
        f"WF/resources/main.yaml:4:57: {SQL_VALUE}\n"
        " |   query: SELECT 1 WHERE a = {{ get('a') }} AND b LIKE '%{{ get('b') }}%' -- {{ c }}\n"
        " | ........................................................^",
    ),
    (
        "sql-built-by-concatenation",
        "sql:\n  connectionName: main\n  queries:\n"
        "    - query: \"{{ 'SELECT * FROM users WHERE id = ' + get('id') }}\"\n"
        "    - query: \"SELECT 1 WHERE {{ 'a = ' + get('a') }}\"\n",
        f"WF/resources/main.yaml:5:15: {SQL_TEXT}\n"
        " |     - query: \"{{ 'SELECT * FROM users WHERE id = ' + get('id') }}\"\n"
        " | ..............^\n"
        f"WF/resources/main.yaml:6:30: {SQL_TEXT}\n"
        " |     - query: \"SELECT 1 WHERE {{ 'a = ' + get('a') }}\"\n"
        " | .............................^",
    ),
    (
        "ignored-keys",
        "python:\n  script: print(1)\n  scriptFile: job.py\n",
        "WF/resources/main.yaml:3:3: warning: python.script is ignored: scriptFile is given "
        "and wins (as in KDeps)\n |   script: print(1)\n | ..^",
    ),
    (
        "query-beside-queries",
        "sql:\n  connectionName: main\n  query: SELECT 1\n  queries: [{query: SELECT 2}]\n",
        "WF/resources/main.yaml:4:3: warning: sql.query is ignored: queries is given and wins "
        "(its statements run, in one transaction)\n |   query: SELECT 1\n | ..^",
    ),
    (
        "http-not-applied",
        "httpClient:\n  url: http://x\n  cache: {enabled: true}\n",
        "WF/resources/main.yaml:4:3: warning: httpClient.cache is not applied by this engine: "
        "every request is sent\n |   cache: {enabled: true}\n | ..^",
    ),
    ("shell-values-are-data", "exec:\n  command: echo {{ get('q') }}\n", ""),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [case[1:] for case in WARNINGS], ids=[case[0] for case in WARNINGS]
)
def test_check_warns(
    tmp_path: Path, resource: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(tmp_path, resource, capsys)
    count = expected.count(": warning: ")
    plural = "warning" if count == 1 else "warnings"
    listed = f"{expected}\n" if expected else ""
    assert (code, out) == (0, f"{listed}demo: 1 resource, 0 errors, {count} {plural}\n")
