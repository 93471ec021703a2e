// The office's exports (server/export_tables.h, csv_export.h, xlsx_export.h):
// a fixture with Thai text, a deleted row, a phone number, a district and a
// fiscal year outside the filter; the XLSX is opened again and its cells read.

#include "server/xlsx_export.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "server/csv_export.h"
#include "shared/csv.h"
#include "shared/fs.h"
#include "tests/server/export_fixture.h"
#include "tests/server/xlsx_reader.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

using kbo::testing::CliResult;
using kbo::testing::RunServerCli;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ExportFilter PhraoIn2567() {
  ExportFilter f;
  f.fiscal_year = 2567;
  f.district = kPhrao;
  return f;
}

TEST_CASE(
    "XLSX export: Thai headers, labels, names, text phones, no deleted rows",
    "[server][export][xlsx]") {
  ExportFixture fx;
  const std::vector<XlsxSheet> sheets = fx.Export(PhraoIn2567());
  std::vector<std::string> names;
  for (const XlsxSheet& s : sheets) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"ผู้ผลิต", "ผลิตภัณฑ์", "การอบรม",
                                          "ผู้เข้าอบรม", "การเข้าอบรม", "การลงพื้นที่",
                                          "ความคืบหน้า", "คะแนนประกวด", "ภาพถ่าย",
                                          "ตารางการเข้าอบรม", "อันดับการประกวด"});

  const XlsxSheet* producers = FindSheet(sheets, "ผู้ผลิต");
  REQUIRE(producers != nullptr);
  const std::vector<std::string> header = producers->Header();
  REQUIRE(header.size() == 12);
  CHECK(header[0] == "ประเภท");
  CHECK(header[1] == "ชื่อ");
  CHECK(header[2] == "อำเภอ");
  CHECK(header.back() == "รหัส");
  // One live Phrao producer: the deleted one and Fang's are left out.
  REQUIRE(producers->rows() == 2);
  CHECK(producers->Text(1, 0) == "กลุ่มผู้ผลิต");  // kind: label, not "group"
  CHECK(producers->Text(1, 1) == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(producers->Text(1, 2) == "พร้าว");  // district by name, not 5011
  CHECK(producers->Text(1, producers->Column("ประเภทผลิตภัณฑ์ OTOP")) ==
        "ผ้า เครื่องแต่งกาย");
  CHECK(producers->Text(1, 11) == kProducer);  // the id, to trace the row
  CHECK_FALSE(producers->Contains("กลุ่มที่ลบแล้ว"));
  CHECK_FALSE(producers->Contains("ร้านกาแฟฝาง"));
  CHECK_FALSE(producers->Contains("group"));

  // The phone number is a string cell with its leading 0.
  const int phone = producers->Column("โทรศัพท์");
  REQUIRE(phone >= 0);
  const XlsxCell* cell = producers->At(1, phone);
  REQUIRE(cell != nullptr);
  CHECK((cell->type == "s" || cell->type == "inlineStr"));
  CHECK(cell->text == "0812345678");
  // Stars stay a number (Excel can sum them).
  const XlsxCell* stars = producers->At(1, producers->Column("ระดับดาว OTOP"));
  REQUIRE(stars != nullptr);
  CHECK(stars->type.empty());
  CHECK(stars->text == "3");

  // Names joined in; the fiscal year 2566 workshop and its rows left out.
  const XlsxSheet* enrolments = FindSheet(sheets, "ผู้เข้าอบรม");
  REQUIRE(enrolments != nullptr);
  REQUIRE(enrolments->rows() == 2);
  CHECK(enrolments->Text(1, 0) == "อบรม KBO พร้าว");
  CHECK(enrolments->Text(1, 1) == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(enrolments->Text(1, 2) == "นางสมศรี ใจดี");
  CHECK_FALSE(enrolments->Contains("นายปีก่อน มาแล้ว"));
  const XlsxSheet* workshops = FindSheet(sheets, "การอบรม");
  REQUIRE(workshops != nullptr);
  CHECK(workshops->rows() == 2);
  CHECK(workshops->Contains("10 มี.ค. 2567"));  // start date, Buddhist Era
  CHECK_FALSE(workshops->Contains("อบรมปีก่อน"));

  // Statuses as Thai labels; the participant by name.
  const XlsxSheet* attendance = FindSheet(sheets, "การเข้าอบรม");
  REQUIRE(attendance != nullptr);
  CHECK(attendance->rows() == 6);
  CHECK(attendance->Text(1, 1) == "นางสมศรี ใจดี");
  CHECK(attendance->Text(1, attendance->Column("สถานะ")) == "ขาด");
  CHECK_FALSE(attendance->Contains("absent"));

  // Bangkok time with the Buddhist Era: 02:00 UTC is 09:00 in Chiang Mai.
  const XlsxSheet* visits = FindSheet(sheets, "การลงพื้นที่");
  REQUIRE(visits != nullptr);
  CHECK(visits->Contains("10 มี.ค. 2567 09:00"));
  CHECK_FALSE(visits->Contains("2024-03-10T02:00:00Z"));

  const XlsxSheet* scores = FindSheet(sheets, "คะแนนประกวด");
  REQUIRE(scores != nullptr);
  CHECK(scores->Text(1, 0) == "ผ้าซิ่นตีนจก");  // product by name
}

TEST_CASE("XLSX export: characters XML may not hold are written as U+FFFD, and the "
          "workbook stays readable",
          "[server][export][xlsx][attack]") {
  ExportFixture fx;
  // As a device pushed it before the server refused them.
  Statement put(fx.store->db(), "UPDATE producer SET name = ?1 WHERE id = ?2");
  put.Bind(1, std::string_view("Bad\xEF\xBF\xBFXML\xEF\xBF\xBE name"))
      .Bind(2, std::string_view(kProducer));
  REQUIRE(put.Run().ok());
  const std::vector<XlsxSheet> sheets = fx.Export(PhraoIn2567());
  const std::string strings = ReadZipPart(fx.tmp.File("kbo.xlsx"), "xl/sharedStrings.xml");
  CHECK(strings.find("\xEF\xBF\xBF") == std::string::npos);
  CHECK(strings.find("\xEF\xBF\xBE") == std::string::npos);
  const XlsxSheet* producers = FindSheet(sheets, "ผู้ผลิต");
  REQUIRE(producers != nullptr);
  CHECK(producers->Contains("Bad\xEF\xBF\xBDXML\xEF\xBF\xBD name"));
}

TEST_CASE("XLSX export: the attendance grid and contest ranking have sheets",
          "[server][export][xlsx]") {
  ExportFixture fx;
  const std::vector<XlsxSheet> sheets = fx.Export(PhraoIn2567());
  const XlsxSheet* grid = FindSheet(sheets, "ตารางการเข้าอบรม");
  REQUIRE(grid != nullptr);
  const int day1 = grid->Column("วันที่ 1");
  REQUIRE(day1 >= 0);
  CHECK(grid->Column("วันที่ 5") == day1 + 4);
  // The participant's row, then the workshop's daily rates.
  REQUIRE(grid->rows() == 3);
  CHECK(grid->Text(1, 0) == "อบรม KBO พร้าว");
  CHECK(grid->Text(1, grid->Column("ชื่อผู้เข้าอบรม")) == "นางสมศรี ใจดี");
  CHECK(grid->Text(1, day1) == "ขาด");
  CHECK(grid->Text(1, day1 + 1) == "มา");
  CHECK(grid->Text(1, day1 + 2) == "สาย");
  CHECK(grid->Text(1, day1 + 3) == "ลา");
  CHECK(grid->Text(1, grid->Column("จำนวนวันที่มา")) == "3");
  CHECK(grid->Text(2, day1) == "0");  // day 1: nobody (a number: 0 %)
  CHECK(grid->Text(2, day1 + 1) == "1");
  CHECK_FALSE(grid->Contains("นายปีก่อน มาแล้ว"));

  const XlsxSheet* ranking = FindSheet(sheets, "อันดับการประกวด");
  REQUIRE(ranking != nullptr);
  REQUIRE(ranking->rows() == 2);
  CHECK(ranking->Text(1, 0) == "KBO CM CONTEST 2567");
  CHECK(ranking->Text(1, 1) == "1");
  CHECK(ranking->Text(1, 2) == "ผ้าซิ่นตีนจก");
  CHECK(ranking->Text(1, 3) == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(ranking->Text(1, ranking->Column("คะแนนรวมเฉลี่ย")) == "80");
  CHECK(ranking->Contains("อาจารย์สมชาย"));
}

TEST_CASE("XLSX export: English on request, every year and district by default",
          "[server][export][xlsx]") {
  ExportFixture fx;
  ExportFilter f;
  f.lang = Lang::kEn;
  const std::vector<XlsxSheet> sheets = fx.Export(f);
  const XlsxSheet* producers = FindSheet(sheets, "Producer");
  REQUIRE(producers != nullptr);
  CHECK(producers->Header()[0] == "Kind");
  CHECK(producers->rows() == 3);  // Phrao and Fang; still not the deleted one
  CHECK(producers->Contains("Producer group"));
  CHECK(producers->Contains("Fang"));
  CHECK_FALSE(producers->Contains("กลุ่มที่ลบแล้ว"));
  const XlsxSheet* visits = FindSheet(sheets, "Visit");
  REQUIRE(visits != nullptr);
  CHECK(visits->Contains("10 Mar 2024 09:00"));
  const XlsxSheet* enrolments = FindSheet(sheets, "Enrolment");
  REQUIRE(enrolments != nullptr);
  CHECK(enrolments->rows() == 3);  // both years
  CHECK(FindSheet(sheets, "Attendance grid") != nullptr);
  CHECK(FindSheet(sheets, "Contest ranking") != nullptr);
}

TEST_CASE("XLSX export: a viewer's scope leaves other districts out",
          "[server][export][xlsx][scope]") {
  ExportFixture fx;
  ExportFilter f;
  f.scope = *Scope::Parse(kFang);
  const std::vector<XlsxSheet> sheets = fx.Export(f);
  const XlsxSheet* producers = FindSheet(sheets, "ผู้ผลิต");
  REQUIRE(producers != nullptr);
  CHECK(producers->rows() == 2);
  CHECK(producers->Contains("ร้านกาแฟฝาง"));
  CHECK_FALSE(producers->Contains("กลุ่มทอผ้าบ้านป่าตุ้ม"));
  for (const XlsxSheet& s : sheets) {
    CAPTURE(s.name);
    CHECK_FALSE(s.Contains("นางสมศรี ใจดี"));
    CHECK_FALSE(s.Contains("ผ้าซิ่นตีนจก"));
  }
  // A district asked for outside the scope gives empty sheets, not Phrao.
  f.district = kPhrao;
  for (const XlsxSheet& s : fx.Export(f)) {
    CAPTURE(s.name);
    CHECK(s.rows() == 1);
  }
}

TEST_CASE("XLSX export: atomic, refuses a folder, leaves no temporary file",
          "[server][export][xlsx]") {
  ExportFixture fx;
  const std::string dir = fx.tmp.File("out");
  REQUIRE(mkdir(dir.c_str(), 0700) == 0);
  Result<XlsxSummary> folder = ExportXlsx(fx.store->db(), dir, ExportFilter{});
  CHECK(folder.status().code() == Code::kInvalidArgument);
  CHECK_THAT(folder.status().message(), Catch::Contains("is a folder"));
  CHECK(ExportXlsx(fx.store->db(), dir + "/kbo.csv", ExportFilter{})
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(ExportXlsx(fx.store->db(), dir + "/absent/kbo.xlsx", ExportFilter{})
            .status()
            .code() == Code::kNotFound);
  // No name before .xlsx (a hidden file was written): refused.
  Result<XlsxSummary> nameless = ExportXlsx(fx.store->db(), dir + "/.xlsx", ExportFilter{});
  CHECK(nameless.status().code() == Code::kInvalidArgument);
  CHECK_THAT(nameless.status().message(), Catch::Contains("give the file a name"));
  CHECK_FALSE(FileExists(dir + "/.xlsx"));
  // A folder nothing can be written in: said of the folder, not of a
  // temporary file's name.
  Result<XlsxSummary> proc = ExportXlsx(fx.store->db(), "/proc/kbo.xlsx", ExportFilter{});
  REQUIRE_FALSE(proc.ok());
  CHECK_THAT(proc.status().message(), Catch::Contains("cannot write a file in folder '/proc'"));
  CHECK_THAT(proc.status().message(), !Catch::Contains(".kbo.xlsx."));

  const std::string path = dir + "/kbo.xlsx";
  {
    std::ofstream old(path);
    old << "an older export";
  }
  Result<XlsxSummary> written =
      ExportXlsx(fx.store->db(), path, ExportFilter{});
  REQUIRE(written.ok());
  CHECK(written->size() == 11);
  CHECK(ReadFile(path).rfind("PK", 0) == 0);  // a zip, the old file replaced
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    CAPTURE(e.path().string());
    ++entries;
  }
  CHECK(entries == 1);

  Result<std::string> bytes = XlsxBytes(fx.store->db(), ExportFilter{});
  REQUIRE(bytes.ok());
  CHECK(bytes->rfind("PK", 0) == 0);
}

TEST_CASE("Export filter: Buddhist Era years, known districts, th or en",
          "[server][export]") {
  CHECK(ParseExportFilter("2567", "5011", "en").ok());
  CHECK(ParseExportFilter("", "", "").ok());
  Result<ExportFilter> western = ParseExportFilter("2024", "", "");
  CHECK(western.status().code() == Code::kInvalidArgument);
  CHECK_THAT(western.status().message(), Catch::Contains("2567"));
  CHECK_FALSE(ParseExportFilter("25x7", "", "").ok());
  CHECK_FALSE(ParseExportFilter("", "9999", "").ok());
  CHECK_FALSE(ParseExportFilter("", "", "fr").ok());
}

TEST_CASE("CSV export: people's files by default, machines' with raw",
          "[server][export][csv]") {
  ExportFixture fx;
  CsvExportOptions options;
  options.filter = PhraoIn2567();
  const std::string dir = fx.tmp.File("csv");
  REQUIRE(ExportCsv(fx.store->db(), dir, options).ok());
  const std::string producers = ReadFile(dir + "/producer.csv");
  CHECK(producers.rfind("\xEF\xBB\xBF"
                        "ประเภท,ชื่อ,อำเภอ,ตำบล",
                        0) == 0);
  CHECK_THAT(producers, Catch::Contains("กลุ่มผู้ผลิต,กลุ่มทอผ้าบ้านป่าตุ้ม,พร้าว"));
  // Excel keeps 081-234-5678 as text, leading 0 and all.
  CHECK_THAT(producers, Catch::Contains(",081-234-5678,"));
  CHECK_THAT(producers, !Catch::Contains("กลุ่มที่ลบแล้ว"));
  CHECK_THAT(producers, !Catch::Contains("ร้านกาแฟฝาง"));
  CHECK_THAT(ReadFile(dir + "/visit.csv"),
             Catch::Contains("10 มี.ค. 2567 09:00"));
  CHECK_THAT(ReadFile(dir + "/attendance_grid.csv"),
             Catch::Contains("นางสมศรี ใจดี,กลุ่มทอผ้าบ้านป่าตุ้ม,ขาด,มา,สาย,ลา,มา,3"));
  CHECK_THAT(ReadFile(dir + "/attendance_grid.csv"),
             Catch::Contains(",0.0%,100.0%,"));
  CHECK_THAT(ReadFile(dir + "/contest_ranking.csv"),
             Catch::Contains("KBO CM CONTEST 2567,1,ผ้าซิ่นตีนจก"));
  // Phrao's ranks, said to be (not the province's).
  CHECK_THAT(ReadFile(dir + "/contest_ranking.csv"),
             Catch::Contains(",อันดับในอำเภอ พร้าว,"));

  options.raw = true;
  const std::string raw_dir = fx.tmp.File("raw");
  REQUIRE(ExportCsv(fx.store->db(), raw_dir, options).ok());
  const std::string raw = ReadFile(raw_dir + "/producer.csv");
  CHECK(raw.rfind("\xEF\xBB\xBF"
                  "id,kind,name,district_code",
                  0) == 0);
  CHECK_THAT(raw, Catch::Contains(",group,กลุ่มทอผ้าบ้านป่าตุ้ม,5011,"));
  CHECK_THAT(raw, Catch::Contains(",0812345678,"));
  // Machines get tombstones too (with the deleted column), by district.
  CHECK_THAT(raw, Catch::Contains("กลุ่มที่ลบแล้ว"));
  CHECK_THAT(raw, !Catch::Contains("ร้านกาแฟฝาง"));
  CHECK_THAT(ReadFile(raw_dir + "/visit.csv"),
             Catch::Contains("2024-03-10T02:00:00Z"));
  CHECK_FALSE(FileExists(raw_dir + "/attendance_grid.csv"));
}

TEST_CASE("Exports: rows recorded under a deleted producer are left out, as "
          "the reports leave them out, and the raw files keep them",
          "[server][export][xlsx][csv]") {
  // Recorded offline under the producer another device deleted (or the
  // office merged away): not deleted themselves, but under a deleted row.
  ExportFixture fx;
  const char* orphan_product = "a1111111-1111-4111-8111-111111111111";
  const char* orphan_enrolment = "a2222222-2222-4222-8222-222222222222";
  fx.Insert("product", orphan_product,
            {{"producer_id", T(kDeletedProducer)},
             {"name", T("สินค้าใต้กลุ่มที่ลบ")},
             {"district_code", T(kPhrao)},
             {"stage", T("idea")}});
  fx.Insert("enrolment", orphan_enrolment,
            {{"workshop_id", T(kWorkshop)},
             {"producer_id", T(kDeletedProducer)},
             {"participant_name", T("นางกำพร้า ลบแล้ว")},
             {"district_code", T(kPhrao)}});
  fx.Insert("attendance", "a0000009",
            {{"workshop_id", T(kWorkshop)},
             {"enrolment_id", T(orphan_enrolment)},
             {"day", I(1)},
             {"status", T("present")},
             {"district_code", T(kPhrao)}});
  fx.Insert("visit", "a3333333-3333-4333-8333-333333333333",
            {{"producer_id", T(kDeletedProducer)},
             {"visited_at", T("2024-03-11T02:00:00Z")},
             {"purpose", T("เยี่ยมกลุ่มที่ลบ")},
             {"district_code", T(kPhrao)}});
  fx.Insert("contest_score", "c0000009",
            {{"product_id", T(orphan_product)},
             {"contest", T("KBO CM CONTEST 2567")},
             {"judge", T("อาจารย์สมชาย")},
             {"identity", I(20)},
             {"uniqueness", I(20)},
             {"quality", I(20)},
             {"packaging", I(20)},
             {"marketability", I(20)},
             {"district_code", T(kPhrao)}});
  fx.Insert("photo", "a4444444-4444-4444-8444-444444444444",
            {{"subject_type", T("product")},
             {"subject_id", T(orphan_product)},
             {"sha256", T(std::string(64, 'a'))},
             {"mime", T("image/jpeg")},
             {"caption", T("รูปสินค้าใต้กลุ่มที่ลบ")},
             {"district_code", T(kPhrao)}});

  for (const ExportFilter& f : {ExportFilter{}, PhraoIn2567()}) {
    const std::vector<XlsxSheet> sheets = fx.Export(f);
    for (const XlsxSheet& s : sheets) {
      CAPTURE(s.name);
      CHECK_FALSE(s.Contains("สินค้าใต้กลุ่มที่ลบ"));
      CHECK_FALSE(s.Contains("นางกำพร้า ลบแล้ว"));
      CHECK_FALSE(s.Contains("เยี่ยมกลุ่มที่ลบ"));
      CHECK_FALSE(s.Contains("รูปสินค้าใต้กลุ่มที่ลบ"));
    }
    // Only the live marks: five of นางสมศรี, not the orphan's day 1.
    const XlsxSheet* marks = FindSheet(sheets, "การเข้าอบรม");
    REQUIRE(marks != nullptr);
    CHECK(marks->rows() == 1 + 5);
    const XlsxSheet* scores = FindSheet(sheets, "คะแนนประกวด");
    REQUIRE(scores != nullptr);
    CHECK(scores->rows() == 1 + 1);
  }

  CsvExportOptions options;
  const std::string dir = fx.tmp.File("csv");
  REQUIRE(ExportCsv(fx.store->db(), dir, options).ok());
  CHECK_THAT(ReadFile(dir + "/product.csv"), !Catch::Contains("สินค้าใต้กลุ่มที่ลบ"));
  CHECK_THAT(ReadFile(dir + "/enrolment.csv"), !Catch::Contains("นางกำพร้า ลบแล้ว"));
  CHECK_THAT(ReadFile(dir + "/visit.csv"), !Catch::Contains("เยี่ยมกลุ่มที่ลบ"));
  // The machines' files keep every row (nothing lost; they come back with
  // the producer if the office restores it).
  options.raw = true;
  const std::string raw_dir = fx.tmp.File("raw");
  REQUIRE(ExportCsv(fx.store->db(), raw_dir, options).ok());
  CHECK_THAT(ReadFile(raw_dir + "/product.csv"), Catch::Contains("สินค้าใต้กลุ่มที่ลบ"));
  CHECK_THAT(ReadFile(raw_dir + "/enrolment.csv"), Catch::Contains("นางกำพร้า ลบแล้ว"));
}

TEST_CASE("CSV export: phone numbers as spreadsheets keep them",
          "[server][export][csv]") {
  CHECK(PhoneForSpreadsheet("0812345678") == "081-234-5678");
  CHECK(PhoneForSpreadsheet("021234567") == "02-123-4567");
  CHECK(PhoneForSpreadsheet("053123456") == "053-123-456");
  CHECK(PhoneForSpreadsheet("081-234-5678") == "081-234-5678");
  CHECK(PhoneForSpreadsheet("1111") == "1111");
  CHECK(PhoneForSpreadsheet("081 234 5678, 053 111 222") ==
        "081 234 5678, 053 111 222");
}

TEST_CASE("kbo-server export xlsx: filters, languages and clear errors",
          "[server][cli][export][xlsx]") {
  ExportFixture fx;
  fx.store.reset();  // the CLI opens the data folder itself
  const std::string data = fx.tmp.File("data");
  const kbo::testing::TempDir& tmp = fx.tmp;
  const std::string out = tmp.File("kbo-2567.xlsx");
  CliResult r = RunServerCli({"--data", data, "export", "xlsx", "--out", out,
                              "--fiscal-year", "2567", "--district", "5011",
                              "--lang", "th"});
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ผู้ผลิต\t1 row\n"));
  const std::vector<XlsxSheet> sheets = ReadXlsx(out);
  const XlsxSheet* producers = FindSheet(sheets, "ผู้ผลิต");
  REQUIRE(producers != nullptr);
  CHECK(producers->Contains("0812345678"));

  CHECK(RunServerCli({"--data", data, "export", "xlsx", "--out", out,
                      "--fiscal-year", "2024"})
            .exit_code == 2);
  CHECK(RunServerCli(
            {"--data", data, "export", "xlsx", "--out", out, "--lang", "fr"})
            .exit_code == 2);
  CliResult folder =
      RunServerCli({"--data", data, "export", "xlsx", "--out", tmp.path()});
  CHECK(folder.exit_code == 2);
  CHECK_THAT(folder.err, Catch::Contains("is a folder"));
  CHECK(RunServerCli({"--data", data, "export", "xlsx"}).exit_code == 2);

  CliResult csv = RunServerCli({"--data", data, "export", "csv", "--out",
                                tmp.File("csv"), "--lang", "en", "--raw"});
  REQUIRE(csv.exit_code == 0);
  CHECK_THAT(csv.out, Catch::Contains("producer.csv\t3 rows"));
}

}  // namespace
}  // namespace kbo::server::testing
