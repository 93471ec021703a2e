// The commands that record one row: producer add, product add, workshop add,
// enrolment add, attendance mark, visit add, progress add, contest score.
// Each prints the row's id alone on stdout (DESIGN §7).
//
// Flags map to catalogue columns by ResolveColumnName (client/csv_import.h),
// the same names a CSV header may use, and every flag's text is converted by
// ClientStore::ParseText, so the messages are the catalogue's.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/cli/command.h"
#include "client/csv_import.h"

#include "shared/civil_time.h"
#include "shared/labels.h"

namespace kbo::client::cli {
namespace {

struct RecordSpec {
  std::string_view noun;
  std::string_view verb;
  std::string_view entity;
  std::string usage;
  std::string_view summary;
  std::vector<FlagSpec> flags;
};

FlagSpec Required(std::string_view name) { return FlagSpec{name, true}; }
FlagSpec Optional(std::string_view name) { return FlagSpec{name, false}; }

// ---- Digits of a date (DayNumber) -------------------------------------------

bool Digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// ---- The commands
// ------------------------------------------------------------

// What a progress entry did to its product's stage, on stderr (stdout is the
// id alone): moved ahead, or kept where it was (never moved back).
void ReportStageFollow(Context& ctx, const StageFollow& follow) {
  if (!follow.applies) return;
  if (follow.moved) {
    ctx.err << "kbo: product " << follow.product_id.ToString()
            << " moved to stage " << follow.after
            << (follow.before.empty() ? "" : " (was " + follow.before + ")")
            << '\n';
  } else if (follow.before != follow.entry_stage) {
    ctx.err << "kbo: product " << follow.product_id.ToString()
            << " stays at stage " << follow.after
            << ": stages only move ahead, so this entry at "
            << follow.entry_stage << " does not move it back\n";
  }
}

// Days since the epoch of "YYYY-MM-DD"; nullopt if it is not one.
std::optional<int64_t> DayNumber(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' ||
      !Digits(date.substr(0, 4)) || !Digits(date.substr(5, 2)) ||
      !Digits(date.substr(8, 2))) {
    return std::nullopt;
  }
  const int y = Num(date.substr(0, 4)), m = Num(date.substr(5, 2)),
            d = Num(date.substr(8, 2));
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return std::nullopt;
  return DaysFromCivil(y, m, d);
}

std::string DayText(int64_t days) {
  return FormatIsoUtc(days * 86400).substr(0, 10);
}

constexpr int64_t kBangkokOffsetMs = 7 * 3600 * 1000;

int64_t TodayInThailand(ClientStore& store) {
  return (store.wall().NowMillis() + kBangkokOffsetMs) / 86400000;
}

// Slips that are recorded as given but said on stderr (stdout stays the id
// alone), each with how to correct it: a mark for a course day after today
// in Thailand (day 4 marked on day 2, or the wrong workshop): nobody has
// attended it yet. A workshop's own: WarnWorkshopSlips.
void WarnSlips(Context& ctx, ClientStore& store, std::string_view entity,
               const Uuid& id, const RowValues& row) {
  if (entity == "workshop") {
    WarnWorkshopSlips(ctx, store, id);
    return;
  }
  if (entity != "attendance") return;
  auto day_it = row.find("day");
  auto ws_it = row.find("workshop_id");
  if (day_it == row.end() || day_it->second.type() != Value::Type::kInteger ||
      ws_it == row.end() || ws_it->second.type() != Value::Type::kText) {
    return;
  }
  const int64_t day = day_it->second.integer();
  Result<Uuid> ws_id = Uuid::Parse(ws_it->second.text());
  if (!ws_id.ok()) return;
  Result<StoredRow> ws = store.Show("workshop", *ws_id);
  if (!ws.ok()) return;
  auto start = ws->values.find("start_date");
  if (start == ws->values.end() || start->second.type() != Value::Type::kText) return;
  const std::optional<int64_t> first = DayNumber(start->second.text());
  if (!first) return;
  const int64_t today = TodayInThailand(store);
  const int64_t marked = *first + day - 1;
  if (marked > today) {
    ctx.err << "kbo: warning: day " << day << " of this workshop is "
            << DayText(marked) << ", after today (" << DayText(today)
            << " in Thailand); recorded as given (kbo delete attendance "
            << id.ToString() << " takes it back)\n";
  }
}

}  // namespace

void WarnWorkshopSlips(Context& ctx, ClientStore& store, const Uuid& workshop) {
  Result<StoredRow> ws = store.Show("workshop", workshop);
  if (!ws.ok() || ws->deleted) return;
  const auto text = [&ws](const char* column) -> std::string {
    auto it = ws->values.find(column);
    return it != ws->values.end() && it->second.type() == Value::Type::kText
               ? it->second.text() : std::string();
  };
  const std::string start = text("start_date");
  auto fy_it = ws->values.find("fiscal_year");
  const std::optional<int64_t> of_start = FiscalYearOfDate(start);
  if (fy_it != ws->values.end() && fy_it->second.type() == Value::Type::kInteger &&
      of_start && fy_it->second.integer() != *of_start) {
    const int64_t fy = fy_it->second.integer();
    ctx.err << "kbo: warning: a workshop starting " << start
            << " is in fiscal year " << *of_start << ", not " << fy
            << " (fiscal years start on 1 October); recorded as given, and "
               "reports count it in "
            << fy << " (kbo edit workshop " << workshop.ToString()
            << " --set fiscal_year=" << *of_start << " corrects it)\n";
  }
  // Marks now for days after today: the start was moved later.
  const std::optional<int64_t> first = DayNumber(start);
  if (!first) return;
  Result<std::vector<StoredRow>> marks =
      store.List("attendance", {Filter{"workshop_id", workshop.ToString()}});
  if (!marks.ok()) return;
  const int64_t today = TodayInThailand(store);
  int64_t ahead = 0;
  for (const StoredRow& m : *marks) {
    auto d = m.values.find("day");
    if (d != m.values.end() && d->second.type() == Value::Type::kInteger &&
        *first + d->second.integer() - 1 > today) {
      ++ahead;
    }
  }
  if (ahead > 0) {
    ctx.err << "kbo: warning: " << ahead << (ahead == 1 ? " attendance mark" : " attendance marks")
            << " of this workshop " << (ahead == 1 ? "is" : "are")
            << " now for days after today (" << DayText(today)
            << " in Thailand): is the start date " << start << " right?\n";
  }
}

namespace {

Status RunRecord(const RecordSpec& spec, Context& ctx,
                 const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, spec.flags, {}, &parsed); !s.ok())
    return s;
  const Entity* entity = FindEntity(spec.entity);
  if (entity == nullptr)
    return Status::Internal("no entity " + std::string(spec.entity));

  RowValues row;
  // Marking a day again (or scoring again) changes what is given: an
  // optional column left off the command line (the mark's note) keeps what
  // is recorded, as the roll call screen does; `--note ""` clears it.
  ClientStore::RecordAgain again;
  again.keep_unnamed = true;
  // A time given well after this device's clock is most likely a typing
  // slip (2099 for 2026): recorded as given, but said.
  std::optional<int64_t> given_at;
  std::string given_column;
  for (const auto& [flag, text] : parsed.flags) {
    const Column* column = ResolveColumnName(*entity, flag);
    if (column == nullptr) {
      return Status::Internal("--" + flag + " names no column of " +
                              std::string(spec.entity));
    }
    // A time may be given with its offset ("+07:00"): ParseText turns it
    // into UTC, and its refusal quotes it as typed.
    Result<Value> value = ClientStore::ParseText(entity->name, column->name, text);
    if (!value.ok()) {
      return Status::FromCode(value.status().code(),
                              "--" + flag + ": " + value.status().message());
    }
    // Empty text is "nothing": leave the column unset, so a required one is
    // refused as missing and an optional one takes its default.
    if (column->type == ColumnType::kDateTime &&
        value->type() == Value::Type::kText) {
      given_at = ParseIsoUtcMillis(value->text());
      given_column = std::string(column->name);
    }
    if (value->is_null()) {
      again.cleared.insert(std::string(column->name));
    } else {
      row[std::string(column->name)] = std::move(*value);
    }
  }

  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // A visit is recorded where and when it happens: --at defaults to now.
  if (spec.entity == "visit" && !parsed.Has("at")) {
    row["visited_at"] = Value::Text((*store)->NowIso());
  }
  const RowValues given = spec.entity == "workshop" || spec.entity == "attendance"
                             ? row : RowValues();
  Result<Uuid> id = (*store)->Record(entity->name, std::move(row), again);
  if (!id.ok()) return id.status();
  WarnSlips(ctx, **store, spec.entity, *id, given);
  // The command that corrects it, with this row's id and column.
  const std::string correct = "kbo edit " + std::string(entity->name) + " " + id->ToString() +
                              " --set " + given_column + "=... corrects it";
  constexpr int64_t kDayMs = 86400000;
  if (given_at.has_value() &&
      *given_at - (*store)->wall().NowMillis() > kDayMs) {
    const int64_t days = (*given_at - (*store)->wall().NowMillis()) / kDayMs;
    ctx.err << "kbo: warning: that time is " << days
            << (days == 1 ? " day" : " days")
            << " after this device's clock; recorded as given (" << correct << ")\n";
  }
  // More than ten years back: a visit from an old notebook is fine, a 1970
  // one a slip of the keyboard. Said, recorded as given.
  constexpr int64_t kTenYearsMs = 3653 * kDayMs;
  if (given_at.has_value() &&
      (*store)->wall().NowMillis() - *given_at > kTenYearsMs) {
    const int64_t years =
        ((*store)->wall().NowMillis() - *given_at) / (kDayMs * 365);
    ctx.err << "kbo: warning: that time is over " << years
            << " years before this device's clock; recorded as given (" << correct
            << ")\n";
  }
  ctx.out << id->ToString() << '\n';
  if (spec.entity == "progress") ReportStageFollow(ctx, (*store)->stage_follow());
  return Status();
}

std::vector<RecordSpec> Specs() {
  std::vector<RecordSpec> specs;
  specs.push_back(
      {"producer",
       "add",
       "producer",
       "producer add --kind group|entrepreneur --name N --district CODE\n"
       "[--tambon T --village V --contact C --phone P --category CAT\n"
       "--stars 0-5 --members N --cluster-brand B]",
       "record an OTOP producer (a group or an entrepreneur)",
       {Required("kind"), Required("name"), Required("district"),
        Optional("tambon"), Optional("village"), Optional("contact"),
        Optional("phone"), Optional("category"), Optional("stars"),
        Optional("members"), Optional("cluster-brand")}});
  specs.push_back(
      {"product",
       "add",
       "product",
       "product add --producer ID --name N [--category CAT --stage STAGE\n"
       "--description D --identity-story S]",
       "record a product of a producer (stage: idea, design, prototype, "
       "packaging, market_ready)",
       {Required("producer"), Required("name"), Optional("category"),
        Optional("stage"), Optional("description"),
        Optional("identity-story")}});
  specs.push_back(
      {"workshop",
       "add",
       "workshop",
       "workshop add --title T --fiscal-year BE --district CODE --start DATE\n"
       "[--days 5 --venue V --target N]",
       "record a workshop (fiscal year in Buddhist Era, start as YYYY-MM-DD)",
       {Required("title"), Required("fiscal-year"), Required("district"),
        Required("start"), Optional("days"), Optional("venue"),
        Optional("target")}});
  specs.push_back(
      {"enrolment",
       "add",
       "enrolment",
       "enrolment add --workshop ID --producer ID --participant NAME",
       "enrol a producer's participant in a workshop",
       {Required("workshop"), Required("producer"), Required("participant")}});
  specs.push_back(
      {"attendance",
       "mark",
       "attendance",
       "attendance mark --workshop ID --enrolment ID --day N\n"
       "--status present|late|absent|excused [--note TEXT]",
       "mark a participant on one day; marking again updates the same mark\n"
       "(a note not given again is kept; --note \"\" clears it)",
       {Required("workshop"), Required("enrolment"), Required("day"),
        Required("status"), Optional("note")}});
  specs.push_back(
      {"visit",
       "add",
       "visit",
       "visit add --producer ID [--at ISO8601 --lat X --lon Y --accuracy M\n"
       "--purpose P --notes N --follow-up F --next-visit DATE]",
       "record a field visit (--at defaults to now; UTC, or give an offset "
       "such as +07:00)",
       {Required("producer"), Optional("at"), Optional("lat"), Optional("lon"),
        Optional("accuracy"), Optional("purpose"), Optional("notes"),
        Optional("follow-up"), Optional("next-visit")}});
  specs.push_back(
      {"progress",
       "add",
       "progress",
       "progress add --product ID --stage STAGE [--percent N --notes N\n"
       "--workshop ID]",
       "record a prototype progress entry for a product",
       {Required("product"), Required("stage"), Optional("percent"),
        Optional("notes"), Optional("workshop")}});
  specs.push_back(
      {"contest",
       "score",
       "contest_score",
       "contest score --product ID --contest NAME --judge NAME --identity N\n"
       "--uniqueness N --quality N --packaging N --marketability N\n"
       "[--comment C]",
       "record a judge's scores (0-20 each); scoring again updates the same "
       "score",
       {Required("product"), Required("contest"), Required("judge"),
        Required("identity"), Required("uniqueness"), Required("quality"),
        Required("packaging"), Required("marketability"),
        Optional("comment")}});
  return specs;
}

}  // namespace

std::vector<Command> RecordCommands() {
  std::vector<Command> commands;
  for (RecordSpec& spec : Specs()) {
    Command c;
    c.noun = spec.noun;
    c.verb = spec.verb;
    c.usage = spec.usage;
    c.summary = spec.summary;
    c.run = [held = std::move(spec)](Context& ctx,
                                     const std::vector<std::string>& args) {
      return RunRecord(held, ctx, args);
    };
    commands.push_back(std::move(c));
  }
  return commands;
}

}  // namespace kbo::client::cli
