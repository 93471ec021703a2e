// The console's photo gallery (issue 10, deliverable 6): /photos and its
// JSON twin /api/photos, filterable by what a photo is of (workshop,
// product, visit, producer) and by one such row, each photo with its
// thumbnail, caption, who took it and when; and /thumb/SHA, the thumbnail
// (server/thumbnails.h) of a photo in the user's districts. The office
// asks here for a photo's original (issue 12: devices sync a downscaled
// upload copy and keep the photo as taken): POST /photos/original, and
// the gallery shows whether it was asked for and, once received, links it.
//
// At province scale (5,000 photo rows) a page costs one query for its
// photos, the names of their subjects in one batch per entity (RowNames),
// one primary-key lookup per photo for its writer's hlc, one query for
// their originals' states, and one for the devices' labels.

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "server/conflict_view.h"
#include "server/console/console.h"
#include "server/row_names.h"
#include "server/storage/originals.h"
#include "server/storage/photo_gallery.h"
#include "server/thumbnails.h"
#include "shared/encoding.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/replica/apply.h"
#include "shared/uuid.h"

namespace kbo::server::console {
namespace {

using Json = nlohmann::ordered_json;

// Photos per page: a 2-column phone screen shows 8 rows of them, a desktop
// 6-8 columns.
constexpr int64_t kPagePhotos = 48;
// No page beyond this (an offset of 48 x 1000 = 48,000 photos): a bound on
// the OFFSET a request can make SQLite skip.
constexpr int64_t kMaxPage = 1000;

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

std::string JsonText(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}


// `message` as the JSON error body says it (English, for scripts); the page
// says `thai` instead when it is in Thai (a message already in the page's
// language leaves it empty).
Reply Fail(Context& ctx, int status, const std::string& error,
           const std::string& message, const std::string& thai = std::string()) {
  if (IsApi(ctx)) {
    return Reply::Json(EncodeErrorBody(error, message, status), status);
  }
  const std::string& shown = ctx.lang == Lang::kTh && !thai.empty() ? thai : message;
  return Reply::Html(
      Layout(ctx, T(ctx.lang, "ภาพถ่าย", "Photos"),
             "<p class=\"flash error\">" + Escape(shown) + "</p>"),
      status);
}

// What a photo can be of (photo.subject_type), in the order of the filter.
constexpr const char* kSubjects[] = {"workshop", "product", "progress",
                                     "visit", "producer"};

bool IsSubject(const std::string& s) {
  for (const char* k : kSubjects) {
    if (s == k) return true;
  }
  return false;
}

bool IsUuidText(const std::string& s) {
  static const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                             "[0-9a-f]{12}");
  return std::regex_match(s, re);
}

struct Filters {
  std::string subject;   // photo.subject_type, "" = any
  std::string id;        // photo.subject_id, "" = any
  std::string district;  // "" = every district of the user
  int64_t page = 0;
};

struct PhotoRow {
  std::string id, subject_type, subject_id, sha256, caption, taken_at,
      district_code;
  // When the device recorded it (the hlc of its sha256 cell), ISO 8601
  // UTC: the date shown for a photo whose file carried none (no EXIF).
  std::string recorded_at;
  int64_t width = 0, height = 0, bytes = 0;
  bool received = false;
  std::string subject_name;
  WriterInfo taken_by;
  storage::OriginalState original;
};

// The name a person knows the photo's subject by: the workshop's title,
// the product's name (and its producer), the visit's producer and date.
std::string SubjectName(Lang lang, const RowNames& names,
                        const std::string& type, const std::string& id) {
  std::string name;
  if (type == "workshop") {
    name = names.Text("workshop", id, "title");
  } else if (type == "product") {
    name = names.Text("product", id, "name");
    const std::string producer = names.ContextOf("product", id).producer_name;
    if (!producer.empty()) name += " · " + producer;
  } else if (type == "visit") {
    name = names.ContextOf("visit", id).producer_name;
    const std::string at = names.Text("visit", id, "visited_at");
    if (!at.empty()) {
      name += (name.empty() ? "" : " · ") + FormatIsoBangkok(lang, at);
    }
  } else if (type == "producer") {
    name = names.Text("producer", id, "name");
  } else if (type == "progress") {
    // A prototype's progress photo: the product, its producer, the stage.
    const RowNames::Context c = names.ContextOf("progress", id);
    name = c.product_name;
    if (!c.producer_name.empty()) name += (name.empty() ? "" : " · ") + c.producer_name;
    const std::string stage = names.Text("progress", id, "stage");
    if (!stage.empty()) {
      name += (name.empty() ? "" : " · ") +
              ValueLabel(lang, "progress", "stage", Value::Text(stage));
    }
  }
  if (name.empty()) name = EntityLabel(lang, type) + " " + id.substr(0, 8);
  return name;
}

// One page of photos, newest first, with their subjects' names and who
// took them; `more` if another page follows.
Result<std::vector<PhotoRow>> LoadPage(Context& ctx, const Filters& f,
                                       bool* more) {
  Db& db = ctx.store.db();
  storage::GalleryQuery q;
  q.scope = ctx.user().scope;
  q.subject_type = f.subject;
  q.subject_id = f.id;
  q.district = f.district;
  q.limit = kPagePhotos + 1;
  q.offset = f.page * kPagePhotos;
  KBO_ASSIGN_OR_RETURN(std::vector<storage::GalleryPhoto> found,
                       storage::PhotoGalleryStore(db).Page(q));
  std::vector<PhotoRow> rows;
  for (storage::GalleryPhoto& g : found) {
    PhotoRow r;
    r.id = std::move(g.id);
    r.subject_type = std::move(g.subject_type);
    r.subject_id = std::move(g.subject_id);
    r.sha256 = std::move(g.sha256);
    r.caption = std::move(g.caption);
    r.taken_at = std::move(g.taken_at);
    r.district_code = std::move(g.district_code);
    r.width = g.width;
    r.height = g.height;
    r.bytes = g.bytes;
    r.received = g.received;
    rows.push_back(std::move(r));
  }
  *more = static_cast<int64_t>(rows.size()) > kPagePhotos;
  if (*more) rows.resize(kPagePhotos);

  // Names of the subjects, in batches; visits and products name their
  // producer (depth 2).
  RowNames names(db);
  for (const PhotoRow& r : rows) names.Want(r.subject_type, r.subject_id);
  // Depth 3: a progress entry's product, and that product's producer.
  if (Status s = names.Load(3); !s.ok()) return s;

  // Who took it: the device of the hlc that wrote the photo's sha256 (the
  // picture itself; a later caption edit by someone else does not change
  // who took it).
  std::vector<std::string> writers(rows.size());
  std::set<std::string> devices;
  for (size_t i = 0; i < rows.size(); ++i) {
    Result<Uuid> id = Uuid::Parse(rows[i].id);
    if (!id.ok()) continue;
    auto versions = ReadCellVersions(db, "photo", *id);
    if (!versions.ok()) return versions.status();
    auto it = versions->find("sha256");
    if (it == versions->end() && !versions->empty()) it = versions->begin();
    if (it == versions->end()) continue;
    writers[i] = it->second.hlc.device.ToString();
    devices.insert(writers[i]);
    rows[i].recorded_at = kbo::server::FormatIsoUtc(it->second.hlc.wall_ms);
  }
  std::vector<std::string> ids;
  for (const PhotoRow& r : rows) ids.push_back(r.id);
  KBO_ASSIGN_OR_RETURN(std::vector<storage::OriginalState> originals,
                       storage::Originals(db).StatesOf(ids));
  for (size_t i = 0; i < rows.size(); ++i) rows[i].original = std::move(originals[i]);
  auto labels = LoadDeviceLabels(db, devices);
  if (!labels.ok()) return labels.status();
  Result<std::string> server_id = LoadServerId(db);
  if (!server_id.ok()) return server_id.status();
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].subject_name =
        SubjectName(ctx.lang, names, rows[i].subject_type, rows[i].subject_id);
    if (!writers[i].empty()) {
      rows[i].taken_by =
          DescribeWriter(ctx.lang, writers[i], *server_id, *labels, "");
    }
  }
  return rows;
}

// "7.4 MB".
std::string Megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// The photo as taken (its original), for /api/photos: null until asked
// for or announced.
Json OriginalJson(const storage::OriginalState& o) {
  const bool announced = !o.sha256.empty();
  if (!o.requested && !announced) return nullptr;
  Json j = {{"requested", o.requested},
            {"requested_at", o.requested ? Json(o.requested_at) : Json(nullptr)},
            {"declined", o.declined_reason.empty() ? Json(nullptr)
                                                   : Json(o.declined_reason)},
            {"sha256", announced ? Json(o.sha256) : Json(nullptr)},
            {"bytes", o.complete ? Json(o.bytes) : Json(nullptr)},
            {"received", o.complete}};
  j["url"] = o.complete ? Json("/blob/" + o.sha256) : Json(nullptr);
  return j;
}

// Under a photo: the original, once here; "asked for" while on its way, or
// the device's answer that it keeps none; else, for the office, a button
// that asks the device that took it (again, after a decline), or withdraws
// the request while it is open.
std::string OriginalHtml(const Context& ctx, const PhotoRow& r) {
  const Lang lang = ctx.lang;
  const storage::OriginalState& o = r.original;
  if (o.complete) {
    return "<a class=\"orig\" href=\"/blob/" + o.sha256 + "\">" +
           T(lang, "ภาพต้นฉบับ", "Original") + " (" + Megabytes(o.bytes) +
           ")</a>";
  }
  std::string said;
  if (o.requested && o.declined_reason.empty()) {
    std::string asked = "<span class=\"orig muted\">" +
                        T(lang, "ขอภาพต้นฉบับแล้ว ", "Original asked for ") +
                        Escape(FormatIsoBangkok(lang, o.requested_at)) + "</span>";
    if (ctx.user().role < WebRole::kOffice) return asked;
    return asked +
           "<form class=\"orig noprint\" method=\"post\" "
           "action=\"/photos/original/cancel\">" +
           CsrfField(ctx) + "<input type=\"hidden\" name=\"photo\" value=\"" +
           Escape(r.id) + "\"><button type=\"submit\">" +
           T(lang, "ยกเลิกคำขอ", "Cancel the request") + "</button></form>";
  }
  if (!o.declined_reason.empty()) {
    said = "<span class=\"orig muted\">" +
           T(lang, "อุปกรณ์ไม่มีภาพต้นฉบับนี้", "The device has no original of it") +
           "</span>";
  }
  if (ctx.user().role < WebRole::kOffice || !r.received ||
      r.taken_by.device_id.empty()) {
    return said;
  }
  return said +
         "<form class=\"orig noprint\" method=\"post\" action=\"/photos/original\">" +
         CsrfField(ctx) + "<input type=\"hidden\" name=\"photo\" value=\"" +
         Escape(r.id) + "\"><button type=\"submit\">" +
         T(lang, "ขอภาพต้นฉบับ", "Ask for the original") + "</button></form>";
}

// The gallery's URL with `f` (and the language kept by WithLang).
std::string GalleryUrl(const Filters& f, int64_t page) {
  std::string url = "/photos?";
  if (!f.subject.empty()) url += "subject=" + UrlEncode(f.subject) + "&";
  if (!f.id.empty()) url += "id=" + UrlEncode(f.id) + "&";
  if (!f.district.empty()) url += "district=" + UrlEncode(f.district) + "&";
  return url + "page=" + std::to_string(page);
}

constexpr char kGalleryStyle[] = R"css(<style>
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.6rem;margin:0 0 1rem}
.gallery figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;overflow:hidden;display:flex;flex-direction:column}
.gallery .pic{display:block;aspect-ratio:4/3;background:#eeeae4}
.gallery .pic img{width:100%;height:100%;object-fit:cover;display:block}
.gallery .pending{display:flex;align-items:center;justify-content:center;text-align:center;padding:.5rem;color:var(--muted);font-size:.9rem}
.gallery figcaption{padding:.35rem .5rem;font-size:.9rem;line-height:1.35;overflow-wrap:anywhere}
.gallery figcaption .of{display:block;font-weight:600}
.gallery figcaption .by{display:block;color:var(--muted);font-size:.85rem}
.gallery figcaption .orig{display:block;margin-top:.3rem;font-size:.85rem}
@media print{.gallery{grid-template-columns:repeat(4,1fr)}}
</style>)css";

Reply Gallery(Context& ctx) {
  const Lang lang = ctx.lang;
  Filters f;
  f.subject = ctx.req.Query("subject");
  f.id = ctx.req.Query("id");
  f.district = ctx.req.Query("district");
  const std::string page_text = ctx.req.Query("page");
  if (!f.subject.empty() && !IsSubject(f.subject)) {
    return Fail(ctx, 400, "invalid_argument",
                "subject must be workshop, product, progress, visit or producer",
                "ภาพถ่ายต้องเป็นของการอบรม ผลิตภัณฑ์ ความคืบหน้า การเยี่ยม หรือผู้ผลิต");
  }
  if (!f.id.empty() && !IsUuidText(f.id)) {
    return Fail(ctx, 400, "invalid_argument", "id must be a row's uuid", "รหัสรายการไม่ถูกต้อง");
  }
  if (Status s = ctx.user().scope.CheckFilter(f.district); !s.ok()) {
    return Refusal(ctx, s, T(ctx.lang, "ภาพถ่าย", "Photos"));
  }
  if (!page_text.empty()) {
    const std::optional<int64_t> page = ParseInt64(page_text, 0, kMaxPage);
    if (!page) {
      return Fail(ctx, 400, "invalid_argument", "page must be 0 to 1000", "เลขหน้าต้องอยู่ระหว่าง 0 ถึง 1000");
    }
    f.page = *page;
  }
  bool more = false;
  Result<std::vector<PhotoRow>> rows = LoadPage(ctx, f, &more);
  if (!rows.ok()) return Fail(ctx, 500, "internal", "could not read photos", "อ่านภาพถ่ายไม่ได้");

  if (IsApi(ctx)) {
    Json list = Json::array();
    for (const PhotoRow& r : *rows) {
      Json by = nullptr;
      if (!r.taken_by.device_id.empty()) {
        by = {{"device_id", r.taken_by.device_id},
              {"label", r.taken_by.who},
              {"role", r.taken_by.role_code},
              {"role_label", r.taken_by.role}};
      }
      list.push_back({{"id", r.id},
                      {"subject_type", r.subject_type},
                      {"subject_id", r.subject_id},
                      {"subject_name", r.subject_name},
                      {"sha256", r.sha256},
                      {"caption", r.caption},
                      {"taken_at", r.taken_at},
                      {"taken_at_label", FormatIsoBangkok(lang, r.taken_at)},
                      {"recorded_at", r.recorded_at},
                      {"district_code", r.district_code},
                      {"width", r.width},
                      {"height", r.height},
                      {"bytes", r.bytes},
                      {"received", r.received},
                      {"thumbnail_url", "/thumb/" + r.sha256},
                      {"original_url", "/blob/" + r.sha256},
                      {"taken_by", by},
                      {"as_taken", OriginalJson(r.original)}});
    }
    return Reply::Json(JsonText({{"page", f.page},
                                 {"page_size", kPagePhotos},
                                 {"more", more},
                                 {"photos", list}}));
  }

  std::string b = kGalleryStyle;
  const std::string done = ctx.req.Query("done");
  if (!done.empty()) {
    b += "<p class=\"flash\" role=\"status\">" + Escape(done) + "</p>";
  }
  const std::string error = ctx.req.Query("error");
  if (!error.empty()) {
    b += "<p class=\"flash error\" role=\"alert\">" + Escape(error) + "</p>";
  }
  // Filters: what the photos are of, and the district.
  b += "<form class=\"filters noprint\" method=\"get\" action=\"/photos\">";
  b += "<label>" + T(lang, "ภาพของ", "Photos of") +
       "<select name=\"subject\"><option value=\"\">" +
       T(lang, "ทั้งหมด", "Everything") + "</option>";
  for (const char* s : kSubjects) {
    b += "<option value=\"" + std::string(s) + "\"" +
         (f.subject == s ? " selected" : "") + ">" +
         Escape(EntityLabel(lang, s)) + "</option>";
  }
  b += "</select></label>";
  const Scope& scope = ctx.user().scope;
  if (scope.all || scope.districts.size() > 1) {
    b += "<label>" + T(lang, "อำเภอ", "District") +
         "<select name=\"district\"><option value=\"\">" +
         T(lang, "ทุกอำเภอ", "All districts") + "</option>";
    std::vector<std::string> codes = scope.districts;
    if (scope.all) {
      Result<std::vector<std::string>> held =
          storage::PhotoGalleryStore(ctx.store.db()).Districts();
      if (!held.ok()) {
        return Fail(ctx, 500, "internal", "could not read the districts", "อ่านรายชื่ออำเภอไม่ได้");
      }
      codes = std::move(*held);
    }
    for (const std::string& c : codes) {
      b += "<option value=\"" + Escape(c) + "\"" +
           (f.district == c ? " selected" : "") + ">" +
           Escape(DistrictLabel(lang, c)) + "</option>";
    }
    b += "</select></label>";
  }
  if (!f.id.empty()) {
    b += "<input type=\"hidden\" name=\"id\" value=\"" + Escape(f.id) + "\">";
  }
  b += "<button class=\"primary\" type=\"submit\">" + T(lang, "กรอง", "Filter") +
       "</button></form>";
  if (!f.id.empty() && !rows->empty()) {
    const PhotoRow& first = rows->front();
    b += "<p><b>" + Escape(EntityLabel(lang, first.subject_type)) + ":</b> " +
         "<a href=\"/data/" + Escape(first.subject_type) + "/" +
         Escape(first.subject_id) + "\">" + Escape(first.subject_name) +
         "</a> · <a href=\"" + Escape(WithLang(ctx, "/photos")) + "\">" +
         T(lang, "ภาพทั้งหมด", "All photos") + "</a></p>";
  }

  b += "<div class=\"gallery\">";
  for (const PhotoRow& r : *rows) {
    b += "<figure>";
    if (r.received) {
      b += "<a class=\"pic\" href=\"/blob/" + r.sha256 + "\"><img src=\"/thumb/" +
           r.sha256 + "\" alt=\"" + Escape(r.caption) + "\" loading=\"lazy\"></a>";
    } else {
      b += "<div class=\"pic pending\">" +
           T(lang, "ยังไม่ได้อัปโหลดภาพ", "Not yet uploaded") + "</div>";
    }
    b += "<figcaption>";
    b += "<a class=\"of\" href=\"" +
         Escape(WithLang(ctx, "/photos?subject=" + r.subject_type + "&id=" +
                                  r.subject_id)) +
         "\">" + Escape(EntityLabel(lang, r.subject_type)) + ": " +
         Escape(r.subject_name) + "</a>";
    if (!r.caption.empty()) b += Escape(r.caption);
    b += "<span class=\"by\">";
    if (!r.taken_by.device_id.empty()) {
      b += Escape(r.taken_by.who);
      if (!r.taken_by.role.empty()) b += " (" + Escape(r.taken_by.role) + ")";
      b += "<br>";
    }
    if (!r.taken_at.empty()) {
      b += Escape(FormatIsoBangkok(lang, r.taken_at));
    } else if (!r.recorded_at.empty()) {
      // The file said nothing of when it was taken: when it was recorded.
      b += T(lang, "บันทึกเมื่อ ", "recorded ") +
           Escape(FormatIsoBangkok(lang, r.recorded_at));
    }
    b += "</span>";
    b += OriginalHtml(ctx, r);
    b += "</figcaption></figure>";
  }
  b += "</div>";
  if (rows->empty()) {
    b += "<p class=\"muted\">" + T(lang, "ไม่มีภาพถ่าย", "No photos") + "</p>";
  }
  b += "<p class=\"noprint\">";
  if (f.page > 0) {
    b += "<a href=\"" + Escape(WithLang(ctx, GalleryUrl(f, f.page - 1))) +
         "\">" + T(lang, "« ก่อนหน้า", "« Previous") + "</a> ";
  }
  if (more) {
    b += "<a href=\"" + Escape(WithLang(ctx, GalleryUrl(f, f.page + 1))) +
         "\">" + T(lang, "ถัดไป »", "Next »") + "</a>";
  }
  b += "</p>";
  return Reply::Html(Layout(ctx, T(lang, "ภาพถ่าย", "Photos"), b));
}

// GET /thumb/SHA: the thumbnail of a photo a live photo row in the user's
// districts names (404 otherwise, as for a photo that does not exist). A
// photo that cannot have one (corrupt, too large) gets a placeholder.
Reply Thumb(Context& ctx) {
  const std::string sha = ctx.req.matches.at(0);
  Result<bool> named = storage::PhotoGalleryStore(ctx.store.db())
                           .NamedInScope(sha, ctx.user().scope);
  if (!named.ok()) return Fail(ctx, 500, "internal", "could not read the photo", "อ่านภาพถ่ายไม่ได้");
  if (!*named) return Fail(ctx, 404, "not_found", "no such photo", "ไม่พบภาพถ่ายนี้");
  // The decode after the store's lock is released (Reply::unlocked): a
  // hostile image takes seconds, and holds up nobody's sync meanwhile.
  Reply r;
  r.unlocked = [sha, blobs = ctx.store.paths().blobs, lang = ctx.lang,
                failed = Fail(ctx, 500, "internal", "could not make the thumbnail",
                              "ทำภาพย่อไม่ได้")](Reply& out) {
    Result<std::string> jpeg = ThumbnailCache(blobs).Get(sha);
    // Content-addressed: a thumbnail never changes (private: it is scoped).
    out.headers.emplace("Cache-Control", "private, max-age=86400");
    if (jpeg.ok()) {
      out.content_type = "image/jpeg";
      out.body = std::move(*jpeg);
      return;
    }
    out.content_type = "image/svg+xml";
    if (jpeg.status().reason() == "not_uploaded") {
      out.status = 404;
      out.body = PlaceholderSvg(T(lang, "ยังไม่ได้อัปโหลด", "Not yet uploaded"));
      out.headers.erase("Cache-Control");
    } else if (jpeg.status().reason() == "no_thumbnail" ||
               jpeg.status().reason() == "too_large") {
      out.body = PlaceholderSvg(T(lang, "ไม่มีภาพย่อ", "No preview"));
    } else {
      out.status = failed.status;
      out.content_type = failed.content_type;
      out.body = failed.body;
      out.headers.erase("Cache-Control");
    }
  };
  return r;
}

// POST /photos/original (form: photo, csrf) and /api/photos/original
// ({"photo": id}): the office asks the device that took photo `photo` (the
// writer of its sha256) for the photo as taken. The device hears of it on
// its next sync and sends it (docs/protocol.md §8). Asking again changes
// nothing.
// The photo named by a request about its original: the form's `photo`, or
// the JSON body's; "" unless a uuid.
std::string PhotoParam(const Context& ctx, bool api) {
  std::string photo;
  if (api) {
    const Json body = Json::parse(ctx.req.body, nullptr, false);
    if (body.is_object() && body.contains("photo") && body["photo"].is_string()) {
      photo = body["photo"].get<std::string>();
    }
  } else {
    photo = ctx.req.Form("photo");
  }
  return IsUuidText(photo) ? photo : std::string();
}

Reply BackToGallery(const Context& ctx, const char* key, const std::string& text) {
  return Reply::Redirect(
      WithLang(ctx, std::string("/photos?") + key + "=" + UrlEncode(text)));
}

Reply AskOriginal(Context& ctx) {
  const Lang lang = ctx.lang;
  const bool api = IsApi(ctx);
  const std::string photo = PhotoParam(ctx, api);
  if (photo.empty()) {
    return Fail(ctx, 400, "invalid_argument", "photo must be a photo row's uuid", "รหัสภาพถ่ายไม่ถูกต้อง");
  }
  const auto back = [&](const char* key, const std::string& text) {
    return BackToGallery(ctx, key, text);
  };
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Fail(ctx, 500, "internal", "could not ask", "ส่งคำขอไม่ได้");
  Result<std::string> asked =
      storage::Originals(ctx.store.db())
          .AskOf(*Uuid::Parse(photo), ctx.user().scope, ctx.store.NowIso(),
                 ctx.user().actor());
  if (!asked.ok()) {
    if (asked.status().code() == Code::kNotFound) {
      return Fail(ctx, 404, "not_found", "no such photo", "ไม่พบภาพถ่ายนี้");
    }
    if (asked.status().reason() == "device_revoked") {
      return Fail(ctx, 409, "device_revoked",
                  T(lang, "อุปกรณ์ที่ถ่ายภาพนี้ถูกยกเลิกสิทธิ์แล้ว จึงไม่ซิงก์อีกและส่งภาพต้นฉบับไม่ได้",
                    "The device that took this photo was revoked: it no longer syncs, so it "
                    "cannot send the original."));
    }
    if (asked.status().code() == Code::kFailedPrecondition) {
      return Fail(ctx, 409, "failed_precondition",
                  T(lang, "ไม่ทราบว่าอุปกรณ์ใดถ่ายภาพนี้",
                    "No device is known to have taken this photo."));
    }
    return Fail(ctx, 500, "internal", "could not ask", "ส่งคำขอไม่ได้");
  }
  const std::string& device = *asked;
  if (!ctx.Audit("original_request", "photo:" + photo, "device " + device).ok() ||
      !tx.Commit().ok()) {
    return Fail(ctx, 500, "internal", "could not ask", "ส่งคำขอไม่ได้");
  }
  if (api) {
    return Reply::Json(JsonText({{"photo", photo}, {"device_id", device},
                                 {"requested", true}}));
  }
  return back("done", T(lang, "ขอภาพต้นฉบับแล้ว อุปกรณ์ที่ถ่ายจะส่งมาเมื่อซิงก์ครั้งถัดไป",
                        "Asked; the device that took it sends the original "
                        "when it next syncs."));
}

// POST /photos/original/cancel (form: photo, csrf) and
// /api/photos/original/cancel ({"photo": id}): the office withdraws its
// open request (asked by mistake, or the copy will do): the device is no
// longer told of it. A device that already began to send it goes on.
Reply CancelOriginal(Context& ctx) {
  const Lang lang = ctx.lang;
  const bool api = IsApi(ctx);
  const std::string photo = PhotoParam(ctx, api);
  if (photo.empty()) {
    return Fail(ctx, 400, "invalid_argument", "photo must be a photo row's uuid", "รหัสภาพถ่ายไม่ถูกต้อง");
  }
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Fail(ctx, 500, "internal", "could not cancel", "ยกเลิกคำขอไม่ได้");
  Result<std::string> cancelled = storage::Originals(ctx.store.db())
                                      .Cancel(*Uuid::Parse(photo), ctx.user().scope);
  if (!cancelled.ok()) {
    if (cancelled.status().code() == Code::kNotFound) {
      return Fail(ctx, 404, "not_found", "no such photo", "ไม่พบภาพถ่ายนี้");
    }
    if (cancelled.status().code() == Code::kFailedPrecondition) {
      return Fail(ctx, 409, "failed_precondition",
                  T(lang, "ไม่มีคำขอภาพต้นฉบับที่ยังค้างอยู่สำหรับภาพนี้",
                    "There is no open request for this photo's original."));
    }
    return Fail(ctx, 500, "internal", "could not cancel", "ยกเลิกคำขอไม่ได้");
  }
  if (!ctx.Audit("original_request_cancelled", "photo:" + photo,
                 "device " + *cancelled)
           .ok() ||
      !tx.Commit().ok()) {
    return Fail(ctx, 500, "internal", "could not cancel", "ยกเลิกคำขอไม่ได้");
  }
  if (api) {
    return Reply::Json(JsonText({{"photo", photo}, {"device_id", *cancelled},
                                 {"requested", false}}));
  }
  return BackToGallery(ctx, "done",
                       T(lang, "ยกเลิกคำขอภาพต้นฉบับแล้ว",
                         "The request for the original is withdrawn."));
}

}  // namespace

void RegisterPhotos(Router& router) {
  router.Page("POST", "/photos/original", WebRole::kOffice, AskOriginal);
  router.Api("POST", "/api/photos/original", WebRole::kOffice, AskOriginal);
  router.Page("POST", "/photos/original/cancel", WebRole::kOffice, CancelOriginal);
  router.Api("POST", "/api/photos/original/cancel", WebRole::kOffice, CancelOriginal);
  router.Page("GET", "/photos", WebRole::kViewer, Gallery);
  router.Api("GET", "/api/photos", WebRole::kViewer, Gallery);
  router.Page("GET", "/thumb/([0-9a-f]{64})", WebRole::kViewer, Thumb);
}

}  // namespace kbo::server::console
