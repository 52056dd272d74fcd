"""The auditor's download of the books themselves: each fund's complete Beancount
ledger, with a README on checking it with bean-check."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy.orm import Session

from core import clock
from ledger.beancount_io import write_ledger
from ledger.models import Fund

README = """资阳市儿童专项基金账簿 Beancount 导出
==========================================

生成时间：{generated}

本压缩包内每个基金一份账簿，文件名为基金代码：
{files}

每份账簿是完整的复式记账日记账（Beancount 3 格式），文件头注明分录笔数和账簿链头哈希，
每笔分录的 hash 元数据即账簿哈希链中该笔的哈希。

用 bean-check 校验
------------------
账簿使用本系统的规则插件（plugin "ledger.plugins.fund_rules"），校验前先安装：

    pip install special-fund

然后逐个校验：

    bean-check ZYS.beancount

没有任何输出即表示账簿平衡、余额断言成立且符合专项基金的记账规则；如有错误，
bean-check 会逐条列出。也可用 fava 浏览：fava ZYS.beancount

How to check (English)
----------------------
Each CODE.beancount file is one fund's complete ledger. Install the rules plugin with
`pip install special-fund`, then run `bean-check CODE.beancount`: no output means the
ledger balances, its balance assertions hold and it follows the fund's rules.
"""


def beancount_zip(session: Session, funds: list[Fund]) -> bytes:
    """Each fund's complete Beancount ledger as CODE.beancount, with a README.txt on
    checking them with bean-check."""
    moment = clock.now().astimezone(clock.CST)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute,
             moment.second - moment.second % 2)
    buffer = io.BytesIO()
    listing = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fund in funds:
            text = io.StringIO()
            count = write_ledger(session, fund, text)
            info = zipfile.ZipInfo(f"{fund.code}.beancount", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.getvalue().encode("utf-8"))
            listing.append(f"  {fund.code}.beancount　{fund.name_zh}　{count} 笔分录　"
                           f"链头哈希 {fund.last_entry_hash}")
        readme = README.format(generated=moment.isoformat(timespec="seconds"),
                               files="\n".join(listing))
        info = zipfile.ZipInfo("README.txt", date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, readme.encode("utf-8"))
    return buffer.getvalue()
