"""A rule pack's problems as the console shows them: in Chinese, each naming the YAML line and
column and the key. The loader (``baohan.rulepacks.loader``) stays the authority on what is wrong;
this maps its paths onto the source text with the YAML node marks and words its messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from baohan.rulepacks.loader import PackProblem

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PARSE_WHERE = re.compile(r"^line (\d+), column (\d+)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class ExplainedProblem:
    """One problem: where (1-based line and column, or 0 when unknown), which key, what is wrong."""

    key: str
    line: int
    column: int
    message: str

    @property
    def where(self) -> str:
        if not self.line:
            return ""
        return f"第 {self.line} 行，第 {self.column} 列"

    def __str__(self) -> str:
        parts = [p for p in (self.where, f"键 {self.key}" if self.key else "") if p]
        return f"{'，'.join(parts)}：{self.message}" if parts else self.message


def path_parts(path: str) -> list[str | int]:
    """``issuers[0].kind`` -> ["issuers", 0, "kind"]."""
    return [int(index) if index else key for key, index in _PATH_PART.findall(path)]


def yaml_compose(source: str) -> yaml.Node | None:
    try:
        return yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def yaml_mark_of(root: yaml.Node | None, path: str) -> tuple[int, int]:
    """The (1-based) line and column where ``path`` is written in the composed ``root``; for a key
    that is missing, where its nearest written parent is. (0, 0) when the text is not YAML at all."""
    if root is None:
        return 0, 0
    node = root
    mark = node.start_mark
    for part in path_parts(path):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            mark, node = match[0].start_mark, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


# The loader's and the schema's English, in Chinese. First match wins; {0}, {1} are the groups.
_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), w)
    for p, w in [
        (r"^unknown key$", "不认识的键（拼写有误，或该位置不允许此键）"),
        (r"^required key is missing$", "缺少必填的键"),
        (
            r"^invalid YAML: mapping values are not allowed here",
            "YAML 格式错误：此处不能出现“键: 值”（多半是缩进或冒号有误）",
        ),
        (r"^invalid YAML: found character '\\t'.*", "YAML 格式错误：不能用 Tab 缩进，请改用空格"),
        (r"^invalid YAML: could not find expected ':'", "YAML 格式错误：缺少冒号“:”"),
        (r"^invalid YAML: key (.+) is given twice$", "键 {0} 在同一层出现了两次"),
        (r"^invalid YAML: (.*)$", "YAML 格式错误（{0}）"),
        (r"^key (.+) is given twice$", "键 {0} 在同一层出现了两次"),
        (r"^a rule pack must be a mapping of keys to values$", "规则包应是“键: 值”的映射"),
        (r"^Input should be a valid string", "应为文本"),
        (r"^Input should be a valid integer", "应为整数"),
        (r"^Input should be a valid (number|decimal)", "应为数字"),
        (r"^Input should be a valid boolean", "应为 true 或 false"),
        (r"^Input should be a valid list", "应为列表（每项以“- ”开头）"),
        (r"^Input should be a valid dictionary", "应为“键: 值”的映射"),
        (r"^Input should be a valid date", "应为日期（如 2026-12-04）"),
        (r"^Input should be a valid time", "应为时间（如 17:00）"),
        (r"^Input should be greater than or equal to (\S+)$", "应大于或等于 {0}"),
        (r"^Input should be greater than (\S+)$", "应大于 {0}"),
        (r"^Input should be less than or equal to (\S+)$", "应小于或等于 {0}"),
        (r"^Input should be less than (\S+)$", "应小于 {0}"),
        (r"^Input should be ('.+)$", "应为以下之一：{0}"),
        (r"^String should have at least (\d+) characters?$", "至少 {0} 个字符"),
        (r"^String should have at most (\d+) characters?$", "最多 {0} 个字符"),
        (r"^String should match pattern '(.+)'$", "格式不符（应符合 {0}）"),
        (r"^List should have at least (\d+) items?.*$", "至少要有 {0} 项"),
        (r"^List should have at most (\d+) items?.*$", "最多 {0} 项"),
        (r"^Decimal input should have no more than (\d+) decimal places?$", "最多 {0} 位小数"),
        (r"^Decimal input should have no more than (\d+) digits? in total$", "最多 {0} 位数字"),
        (r"^Field required$", "缺少必填的键"),
        (r"^Extra inputs are not permitted$", "不认识的键"),
        (r"^a login method is listed twice$", "登录方式重复列出"),
        (r"^unknown field name (\S+); known names: (.*)$", "未知的字段名 {0}；可用：{1}"),
        (r"^a logo path stays inside the theme's static folder.*$", "标志路径须在主题的 static 目录内（不能含“..”）"),
        (r"^(?:[\w ]+ )?code (\S+) is used twice$", "代码 {0} 重复使用"),
        (r"^(\S+) is not offered in (\S+)$", "{0} 未在 {1} 中提供"),
        (r"^(\S+) is not offered in products$", "{0} 未在 products 中提供"),
        (r"^random allocation needs at least two issuers on the panel$", "随机分配至少需要两家出函机构"),
        (r"^random allocation needs the label the bidder picks$", "随机分配需要填写投标人选择时看到的名称"),
        (r"^only meaningful with mode (\S+)$", "仅在 mode 为 {0} 时有效"),
        (r"^only meaningful with the (\S+) login method$", "仅在启用 {0} 登录方式时有效"),
        (r"^(\d+) is more than the (\d+) issuers listed$", "{0} 超过了所列出函机构的数量（{1} 家）"),
        (r"^resetting a password needs the password login method$", "短信重置密码需要启用 password 登录方式"),
        (
            r"^the platform_handoff login method needs login\.handoff.*$",
            "platform_handoff 登录方式需要填写 login.handoff",
        ),
        (r"^registration needs the password or sms_code login method$", "自助注册需要 password 或 sms_code 登录方式"),
        (r"^offline transfers need the issuer's receiving account$", "线下转账需要填写该出函机构的收款账户"),
        (r"^unknown project type (\S+)$", "未知的项目类型 {0}"),
        (r"^project type (\S+) has two rules$", "项目类型 {0} 有两条规则"),
        (r"^field (\S+) appears twice$", "字段 {0} 出现了两次"),
        (r"^field (\S+) does not belong on the (\S+) form$", "字段 {0} 不属于 {1} 表单"),
        (r"^a file field needs upload limits.*$", "文件字段需要上传限制（max_mb、types）"),
        (r"^field (\S+) is not a file field$", "字段 {0} 不是文件字段"),
        (r"^field (\S+) is not a choice field$", "字段 {0} 不是选择字段"),
        (r"^choice field (\S+) needs its choices$", "选择字段 {0} 需要列出选项"),
        (r"^self verification needs the enterprise form's fields$", "企业自助核验需要 forms.enterprise 的字段"),
        (r"^voucher payment needs the voucher form.*$", "凭证付款需要 forms.voucher（含上传限制）"),
        (r"^online channels are listed but online payment is not enabled$", "列出了在线支付渠道，但未启用在线支付"),
        (r"^online payment needs at least one channel$", "在线支付至少需要一个渠道"),
        (r"^unknown layout (\S+); known: (.*)$", "未知的对账单格式 {0}；可用：{1}"),
        (r"^(\d+) hours is listed twice$", "{0} 小时重复列出"),
        (r"^a rule must state at least one condition$", "每条规则至少要有一个条件"),
        (
            r"^a bidder's abandonment does not depend on a section status$",
            "投标人放弃投标与标段状态无关，不能填写 section_status",
        ),
        (r"^a section event rule must name the statuses$", "标段事件规则须列出 section_status"),
        (r"^rules are listed but refunds are disabled.*$", "列出了退保规则，但未启用退保（refund.enabled）"),
        (r"^invoice form (\S+) is listed twice$", "发票形式 {0} 重复列出"),
        (r"^only one group may show the issuer choice$", "只能有一个分组显示出函机构选择"),
        (
            r"^field (\S+) is in no group; every application field needs one of: (.*)$",
            "字段 {0} 不在任何分组中；可选分组：{1}",
        ),
        (r"^unknown group (\S+); groups: (.*)$", "未知的分组 {0}；可选：{1}"),
        (
            r"^unknown group (\S+); forms\.application_groups lists none$",
            "未知的分组 {0}；forms.application_groups 未列出分组",
        ),
        (r"^group (\S+) has no fields$", "分组 {0} 没有字段"),
        (r"^groups are for the application form only$", "分组只用于投保申请表单"),
        (r"^cannot read file: (.*)$", "无法读取文件（{0}）"),
    ]
]


def problem_words(message: str) -> str:
    """``message`` in Chinese (a message already in Chinese is kept; an unknown English one is kept
    in brackets after a Chinese lead, so nothing is lost)."""
    if _CJK.search(message):
        return message
    for pattern, words in _WORDS:
        match = pattern.match(message)
        if match:
            return words.format(*match.groups())
    return f"不符合规则（{message}）"


def pack_problems_explain(*, source: str, problems: Iterable[PackProblem]) -> list[ExplainedProblem]:
    out: list[ExplainedProblem] = []
    root = yaml_compose(source)
    for problem in problems:
        parse_where = _PARSE_WHERE.match(problem.path)
        if parse_where:  # YAML that does not parse: the parser's own mark
            line, column, key = int(parse_where.group(1)), int(parse_where.group(2)), ""
        else:
            key = problem.path
            line, column = yaml_mark_of(root, key) if key else (0, 0)
        out.append(ExplainedProblem(key=key, line=line, column=column, message=problem_words(problem.message)))
    return out
