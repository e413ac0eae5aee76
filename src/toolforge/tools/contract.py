"""The tool contract (DESIGN.md §4): one public function, JSON in, JSON out.

Loading is static: the file is parsed with `ast` and never imported or executed in the
caller's process. Type hints are resolved by a small whitelist evaluator (only JSON-shaped
types: str, int, float, bool, None, list, dict[str, ...], tuple, Optional/Union/`|`,
Literal, Any), and pydantic turns them into the JSON schema agents see. Running the tool is
the sandbox's job; describing it must not require trusting it.

Preconditions are part of the contract and of the schema: `Annotated[float, Field(gt=0)]`
(pydantic's `Field`, read statically: keyword arguments with literal values), `Literal[...]`,
or the docstring's `Args:` constraint syntax (`mass (float, > 0): ...`, see
`toolforge.tools.docstrings`). They become `exclusiveMinimum`, `maximum`, `pattern`,
`minItems`, ... in `parameters_schema`; callers check arguments against it before the tool
runs (`toolforge.runtime.arguments`), and the property attack stays inside it.
"""

from __future__ import annotations

import ast
import json
import math
import re
from functools import cache
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from toolforge import pyast
from toolforge.errors import ToolContractError
from toolforge.names import is_valid_tool_name
from toolforge.tools.docstrings import DocstringError, parse_docstring

MAX_SOURCE_BYTES = 512 * 1024


class ToolParam(BaseModel):
    name: str
    annotation: str
    required: bool
    default: Any = None
    description: str = ""
    constraints: dict[str, Any] = Field(
        default_factory=dict,
        description="preconditions from Field(...) and the docstring (gt, ge, lt, le, "
        "multiple_of, min_length, max_length, pattern)",
    )


class ToolSpec(BaseModel):
    """What a tool file declares, derived without running it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="the public function's name (the entrypoint)")
    signature: str
    summary: str
    docstring: str
    params: list[ToolParam]
    parameters_schema: dict[str, Any] = Field(description="JSON schema of the arguments object")
    returns_schema: dict[str, Any]
    returns_annotation: str
    returns_description: str = ""
    raises: dict[str, str] = Field(default_factory=dict, description="documented exceptions")
    line: int = 1


# --- type-hint evaluation -------------------------------------------------------------------

_TYPE_NAMES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "None": None,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "Any": Any,
    "Optional": Optional,
    "Union": Union,
    "Literal": Literal,
    "Annotated": Annotated,
    "List": list,
    "Dict": dict,
    "Tuple": tuple,
}
_TYPING_MODULES = {"typing", "t"}


def _annotation_error(node: ast.AST, what: str) -> ToolContractError:
    return ToolContractError(
        f"line {getattr(node, 'lineno', '?')}: {what}",
        hint="tool arguments and return values must be JSON types: str, int, float, bool, "
        "None, list[...], dict[str, ...], tuple[...], Optional/Union/|, Literal[...], Any; "
        "preconditions as Annotated[float, Field(gt=0)]",
    )


MAX_ANNOTATION_DEPTH = 32  # list[list[...]] beyond this describes no real tool argument


def _eval_annotation(node: ast.expr) -> Any:
    """Evaluate an annotation AST using only the whitelisted JSON-shaped types."""
    depth = sum(1 for n in ast.walk(node) if isinstance(n, ast.Subscript | ast.BinOp))
    if depth > MAX_ANNOTATION_DEPTH:
        raise _annotation_error(node, f"annotation nested more than {MAX_ANNOTATION_DEPTH} "
                                "levels deep")
    if isinstance(node, ast.Constant):
        if node.value is None:
            return None
        if isinstance(node.value, str):  # string annotation: parse it, same rules
            try:
                inner = pyast.parse(node.value, mode="eval").body
            except SyntaxError:
                raise _annotation_error(node, f"unparsable annotation {node.value!r}")
            return _eval_annotation(inner)
        raise _annotation_error(node, f"unsupported annotation {ast.unparse(node)}")
    if isinstance(node, ast.Name):
        if node.id in _TYPE_NAMES:
            return _TYPE_NAMES[node.id]
        raise _annotation_error(node, f"type {node.id!r} is not a JSON type")
    if isinstance(node, ast.Attribute):
        module = node.value
        if isinstance(module, ast.Name) and module.id in _TYPING_MODULES and (
            node.attr in _TYPE_NAMES
        ):
            return _TYPE_NAMES[node.attr]
        raise _annotation_error(node, f"type {ast.unparse(node)!r} is not a JSON type")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return Union[_eval_annotation(node.left), _eval_annotation(node.right)]  # noqa: UP007
    if isinstance(node, ast.Subscript):
        origin = _eval_annotation(node.value)
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin is Literal:
            values = []
            for elt in elts:
                if not isinstance(elt, ast.Constant) or not isinstance(
                    elt.value, str | int | float | bool | type(None)
                ):
                    raise _annotation_error(node, "Literal values must be JSON constants")
                values.append(elt.value)
            return Literal[tuple(values)]
        if origin is Annotated:
            if len(elts) < 2:
                raise _annotation_error(node, "Annotated needs a type and Field(...)")
            inner = _eval_annotation(elts[0])
            constraints: dict[str, Any] = {}
            for meta in elts[1:]:
                for key, value in _field_constraints(meta).items():
                    if key in constraints and constraints[key] != value:
                        raise _annotation_error(meta, f"{key} is given twice")
                    constraints[key] = value
            return _constrain(inner, constraints, node)
        if origin is dict:
            if len(elts) != 2:
                raise _annotation_error(node, "dict needs two type arguments")
            key = _eval_annotation(elts[0])
            if key is not str:
                raise _annotation_error(node, "JSON object keys must be str: use dict[str, ...]")
            return dict[str, _eval_annotation(elts[1])]  # type: ignore[misc]  # runtime type
        if origin is list:
            if len(elts) != 1:
                raise _annotation_error(node, "list needs one type argument")
            return list[_eval_annotation(elts[0])]  # type: ignore[misc]  # runtime type
        if origin is tuple:
            if len(elts) == 2 and isinstance(elts[1], ast.Constant) and elts[1].value is Ellipsis:
                return tuple[_eval_annotation(elts[0]), ...]  # type: ignore[misc]
            return tuple[tuple(_eval_annotation(e) for e in elts)]  # type: ignore[misc]
        if origin is Optional:
            if len(elts) != 1:
                raise _annotation_error(node, "Optional needs one type argument")
            return Optional[_eval_annotation(elts[0])]  # noqa: UP045
        if origin is Union:
            return Union[tuple(_eval_annotation(e) for e in elts)]  # noqa: UP007
        raise _annotation_error(node, f"type {ast.unparse(node.value)!r} takes no arguments")
    raise _annotation_error(node, f"unsupported annotation {ast.unparse(node)}")


# --- constraints ------------------------------------------------------------------------------

_NUMERIC = ("gt", "ge", "lt", "le", "multiple_of")
_LENGTH = ("min_length", "max_length")
CONSTRAINT_KEYS = (*_NUMERIC, *_LENGTH, "pattern")
# Field(...) keywords a tool may use: its constraints and what documents them.
_FIELD_KEYS = (*CONSTRAINT_KEYS, "description", "examples", "title")


def _field_constraints(node: ast.expr) -> dict[str, Any]:
    """The keyword arguments of `Field(...)` / `pydantic.Field(...)`, as literal values."""
    func = node.func if isinstance(node, ast.Call) else None
    named = (isinstance(func, ast.Name) and func.id == "Field") or (
        isinstance(func, ast.Attribute) and func.attr == "Field"
        and isinstance(func.value, ast.Name) and func.value.id == "pydantic"
    )
    if not isinstance(node, ast.Call) or not named:
        raise _annotation_error(node, "Annotated metadata must be Field(...) with keyword "
                                "arguments, e.g. Annotated[float, Field(gt=0)]")
    if node.args or any(k.arg is None for k in node.keywords):
        raise _annotation_error(node, "Field(...) takes keyword arguments only here "
                                "(gt=, ge=, lt=, le=, multiple_of=, min_length=, max_length=, "
                                "pattern=, description=)")
    out: dict[str, Any] = {}
    for keyword in node.keywords:
        key = keyword.arg
        assert key is not None
        if key not in _FIELD_KEYS:
            raise _annotation_error(node, f"Field({key}=...) is not supported in a tool "
                                    f"contract; use {', '.join(_FIELD_KEYS)}")
        try:
            out[key] = pyast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            raise _annotation_error(node, f"Field({key}=...) must be a literal value")
    return out


def _check_constraint_values(constraints: dict[str, Any], node: ast.AST | None) -> None:
    def fail(what: str) -> ToolContractError:
        where = f"line {getattr(node, 'lineno', '?')}: " if node is not None else ""
        return ToolContractError(f"{where}{what}", hint="constraints: gt/ge/lt/le and "
                                 "multiple_of take numbers, min_length/max_length whole "
                                 "numbers, pattern a regular expression")
    for key, value in constraints.items():
        if key in _NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)
                                or not math.isfinite(value)):
            raise fail(f"{key}={value!r} must be a finite number")
        if key in _LENGTH and (isinstance(value, bool) or not isinstance(value, int)
                               or value < 0):
            raise fail(f"{key}={value!r} must be a whole number >= 0")
        if key == "pattern":
            if not isinstance(value, str):
                raise fail("pattern must be a string")
            try:
                re.compile(value)
            except re.error as exc:
                raise fail(f"pattern {value!r} is not a regular expression: {exc}")
        if key == "multiple_of" and value <= 0:
            raise fail("multiple_of must be > 0")
        if key in ("description", "title") and not isinstance(value, str):
            raise fail(f"{key} must be a string")
        if key == "examples" and not (isinstance(value, list) and _is_json_value(value)):
            raise fail("examples must be a list of JSON values")
    low = max((constraints[k] for k in ("gt", "ge") if k in constraints), default=None)
    high = min((constraints[k] for k in ("lt", "le") if k in constraints), default=None)
    if low is not None and high is not None and (
        low > high or (low == high and ("gt" in constraints or "lt" in constraints))
    ):
        raise fail(f"no number satisfies {_describe(constraints)}")
    if constraints.get("min_length", 0) > constraints.get("max_length", math.inf):
        raise fail(f"no length satisfies {_describe(constraints)}")


def _describe(constraints: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in constraints.items() if k in CONSTRAINT_KEYS)


def _kinds(tp: Any) -> set[str]:
    """The JSON types a (constraint-free) annotation accepts, null excluded."""
    schema = pydantic.TypeAdapter(tp).json_schema()
    options = schema.get("anyOf", [schema])
    kinds: set[str] = set()
    for option in options:
        kind = option.get("type")
        if kind is None and "enum" in option:
            kind = "enum"
        kinds.update(kind if isinstance(kind, list) else [kind or "any"])
    return kinds - {"null"}


def _constrain(tp: Any, constraints: dict[str, Any], node: ast.AST | None) -> Any:
    """`tp` with `constraints` applied: Annotated[tp, pydantic.Field(**constraints)]."""
    if not constraints:
        return tp
    _check_constraint_values(constraints, node)
    kinds = _kinds(tp)
    where = f"line {getattr(node, 'lineno', '?')}: " if node is not None else ""
    used = set(constraints) & set(CONSTRAINT_KEYS)
    wrong = None
    if used & set(_NUMERIC) and not kinds <= {"number", "integer"}:
        wrong = "gt/ge/lt/le/multiple_of apply to numbers"
    elif used & set(_LENGTH) and not kinds <= {"string", "array", "object"}:
        wrong = "min_length/max_length apply to strings, lists and dicts"
    elif "pattern" in used and kinds != {"string"}:
        wrong = "pattern applies to strings"
    if wrong:
        raise ToolContractError(f"{where}{_describe(constraints)} cannot constrain this type: "
                                f"{wrong}", hint="put each constraint on a value of its kind")
    return Annotated[tp, pydantic.Field(**constraints)]


@cache
def _schema_for(annotation_src: str, constraints_json: str = "{}") -> dict[str, Any]:
    """The JSON schema of an annotation, with the docstring's constraints (as JSON)."""
    tp = _eval_annotation(pyast.parse(annotation_src, mode="eval").body)
    tp = _constrain(tp, json.loads(constraints_json), None)
    return pydantic.TypeAdapter(tp).json_schema()


def _check_default(name: str, annotation_src: str, constraints: dict[str, Any], default: Any,
                   line: int) -> None:
    tp = _eval_annotation(pyast.parse(annotation_src, mode="eval").body)
    try:
        pydantic.TypeAdapter(_constrain(tp, constraints, None)).validate_python(default)
    except pydantic.ValidationError as exc:
        raise ToolContractError(
            f"line {line}: the default of {name!r} ({default!r}) breaks its own type or "
            f"constraints: {exc.errors()[0]['msg']}",
            hint="make the default a value the tool accepts",
        )


def python_type(annotation_src: str) -> Any:
    """The Python type an annotation stands for (e.g. `list[str]`, `Optional[int]`), built by
    the same whitelist evaluator: what a framework reading `__annotations__` should see."""
    return _eval_annotation(pyast.parse(annotation_src, mode="eval").body)


def _is_json_value(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


# --- loading --------------------------------------------------------------------------------


def parse_source(source: str, filename: str = "tool.py") -> ast.Module:
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        raise ToolContractError(
            f"{filename} is larger than {MAX_SOURCE_BYTES // 1024} KiB",
            hint="a tool is one small function",
        )
    try:
        return pyast.parse(source, filename=filename)
    except SyntaxError as exc:
        if exc.lineno is None:  # e.g. null bytes: no position to point at
            raise ToolContractError(f"{filename}: cannot parse: {exc.msg}")
        raise ToolContractError(
            f"{filename}:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}",
            hint="fix the Python syntax; the file must parse on Python 3.11",
        )
    except ValueError as exc:  # e.g. null bytes
        raise ToolContractError(f"{filename}: cannot parse: {exc}")
    except (RecursionError, MemoryError, OverflowError):  # a 100,000-link chain, 1+1+...+1
        raise ToolContractError(f"{filename}: nested too deeply to parse",
                                hint="split long expressions and chains into statements")


def public_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]


def load_tool_source(source: str, filename: str = "tool.py") -> ToolSpec:
    """Describe the tool defined in `source` without executing it.

    Any input gives a ToolSpec or a ToolContractError, nothing else: whatever is nested too
    deeply to describe (annotations, defaults) is refused like a syntax error."""
    try:
        return _load_tool_source(source, filename)
    except (RecursionError, MemoryError):
        raise ToolContractError(f"{filename}: nested too deeply to describe",
                                hint="simplify the annotations and default values")


def _load_tool_source(source: str, filename: str) -> ToolSpec:
    tree = parse_source(source, filename)
    funcs = public_functions(tree)
    if not funcs:
        raise ToolContractError(
            f"{filename} defines no public function",
            hint="define exactly one top-level function whose name does not start with _",
        )
    if len(funcs) > 1:
        names = ", ".join(f.name for f in funcs)
        raise ToolContractError(
            f"{filename} defines several public functions ({names})",
            hint="keep one public function; prefix helpers with _",
        )
    func = funcs[0]
    if isinstance(func, ast.AsyncFunctionDef):
        raise ToolContractError(
            f"{filename}:{func.lineno}: {func.name} is async", hint="tools are plain functions"
        )
    if not is_valid_tool_name(func.name):
        raise ToolContractError(
            f"{filename}:{func.lineno}: function name {func.name!r} is not a valid tool name",
            hint="use an ASCII snake_case name",
        )
    args = func.args
    if args.vararg or args.kwarg or args.posonlyargs:
        raise ToolContractError(
            f"{filename}:{func.lineno}: {func.name} uses *args, **kwargs or positional-only "
            "parameters",
            hint="JSON arguments are named: declare each parameter explicitly",
        )
    try:
        doc = parse_docstring(ast.get_docstring(func))
    except DocstringError as exc:
        raise ToolContractError(
            f"{filename}:{func.lineno}: docstring of {func.name}: {exc}",
            hint="constraints go in the parentheses after an argument's name: "
            "`mass (float, > 0): ...`; see docs/validation.md",
        )
    unknown = sorted(set(doc.constraints) - {a.arg for a in args.args + args.kwonlyargs})
    if unknown:
        raise ToolContractError(
            f"{filename}:{func.lineno}: the docstring constrains {', '.join(unknown)}, which "
            f"{func.name} does not take", hint="constraints belong to the function's parameters")
    if not doc.summary:
        raise ToolContractError(
            f"{filename}:{func.lineno}: {func.name} has no docstring",
            hint="add a docstring: a one-line summary, then Args: and Returns: sections",
        )

    params: list[ToolParam] = []
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    all_args = args.args + args.kwonlyargs
    defaults: list[ast.expr | None] = [None] * (len(args.args) - len(args.defaults)) + list(
        args.defaults
    )
    defaults += list(args.kw_defaults)
    for arg, default_node in zip(all_args, defaults, strict=True):
        if arg.annotation is None:
            raise ToolContractError(
                f"{filename}:{arg.lineno}: parameter {arg.arg!r} has no type hint",
                hint="annotate every parameter with a JSON type, e.g. `text: str`",
            )
        annotation = ast.unparse(arg.annotation)
        _eval_annotation(arg.annotation)  # raises a located error for non-JSON types
        doc_constraints = doc.constraints.get(arg.arg, {})
        try:
            schema = dict(_schema_for(annotation, json.dumps(doc_constraints, sort_keys=True)))
        except ToolContractError as exc:
            raise ToolContractError(f"{filename}:{arg.lineno}: parameter {arg.arg!r}: "
                                    f"{exc.message}", hint=exc.hint)
        defs.update(schema.pop("$defs", {}))
        description = doc.args.get(arg.arg, "")
        if description and "description" not in schema:
            schema["description"] = description
        constraints = {**_annotated_constraints(arg.annotation), **doc_constraints}
        has_default = default_node is not None
        default: Any = None
        if has_default:
            assert default_node is not None
            try:
                default = pyast.literal_eval(default_node)
            except ValueError:
                raise ToolContractError(
                    f"{filename}:{arg.lineno}: default of {arg.arg!r} is not a literal",
                    hint="defaults must be JSON literals (numbers, strings, None, [], {})",
                )
            if isinstance(default, tuple):
                default = list(default)
            if not _is_json_value(default):
                raise ToolContractError(
                    f"{filename}:{arg.lineno}: default of {arg.arg!r} is not JSON-serializable"
                )
            if constraints:
                _check_default(arg.arg, annotation, doc_constraints, default, arg.lineno)
            schema["default"] = default
        else:
            required.append(arg.arg)
        properties[arg.arg] = schema
        params.append(
            ToolParam(
                name=arg.arg,
                annotation=annotation,
                required=not has_default,
                default=default,
                description=description,
                constraints=constraints,
            )
        )
    if func.returns is None:
        raise ToolContractError(
            f"{filename}:{func.lineno}: {func.name} has no return type hint",
            hint="annotate the return value with a JSON type, e.g. `-> dict[str, int]`",
        )
    returns_annotation = ast.unparse(func.returns)
    _eval_annotation(func.returns)
    returns_schema = dict(_schema_for(returns_annotation))

    parameters_schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if defs:
        parameters_schema["$defs"] = defs
    signature = f"{func.name}({', '.join(_param_sig(p) for p in params)}) -> {returns_annotation}"
    return ToolSpec(
        name=func.name,
        signature=signature,
        summary=doc.summary,
        docstring=doc.description,
        params=params,
        parameters_schema=parameters_schema,
        returns_schema=returns_schema,
        returns_annotation=returns_annotation,
        returns_description=doc.returns,
        raises=doc.raises,
        line=func.lineno,
    )


def _annotated_constraints(node: ast.expr) -> dict[str, Any]:
    """The constraints a top-level Annotated[...] states (for display; the schema has all)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = pyast.parse(node.value, mode="eval").body
    if not isinstance(node, ast.Subscript) or _eval_annotation(node.value) is not Annotated:
        return {}
    elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    out: dict[str, Any] = {}
    for meta in elts[1:]:
        out.update({k: v for k, v in _field_constraints(meta).items() if k in CONSTRAINT_KEYS})
    return out


def _param_sig(p: ToolParam) -> str:
    text = f"{p.name}: {p.annotation}"
    return text if p.required else f"{text} = {p.default!r}"


def description_of(spec: ToolSpec) -> str:
    """The text agents read: summary plus the documented return value."""
    text = spec.summary
    if spec.returns_description:
        text += f" Returns: {spec.returns_description}"
    return text


__all__ = [
    "CONSTRAINT_KEYS",
    "ToolParam",
    "ToolSpec",
    "description_of",
    "load_tool_source",
    "parse_source",
    "public_functions",
    "python_type",
]
