// The apps the forwarder can watch: the core's list (notification::known_apps) merged with the package
// names confirmed real in tests/corpus/README.md. Look-alike names listed there as wrong (com.dana,
// com.ovo.id, id.co.bca.mobile, com.gojek.gopay.merchant, com.seabank.id, com.bankjago.app) are never here.
package id.webqris.forwarder

import id.webqris.bridge.KnownApp
import id.webqris.bridge.knownApps

object KnownApps {
    /**
     * Merchant-side apps are on by default. Personal wallets are off: the same payment shows in GoPay and
     * GoPay Merchant with identical text, and watching both would forward it twice.
     */
    private val confirmed: List<KnownApp> = listOf(
        KnownApp("id.dana", "DANA / DANA Bisnis", true),
        KnownApp("com.gojek.gopaymerchant", "GoPay Merchant", true),
        KnownApp("com.gojek.resto", "GoBiz", true),
        KnownApp("com.shopeepay.merchant.id", "Shopee Partner", true),
        KnownApp("ovo.id", "OVO", false),
        KnownApp("com.telkom.mwallet", "LinkAja", false),
        KnownApp("com.interactive.qrisid", "InterActive QRIS", true),
        KnownApp("com.bca.msb", "Merchant BCA", true),
        KnownApp("id.co.bri.merchant", "BRI Merchant", true),
        KnownApp("id.bmri.livinmerchant", "Livin' Merchant", true),
        KnownApp("id.co.bni.merchant", "BNI Merchant", true),
        KnownApp("com.gojek.gopay", "GoPay", false),
        KnownApp("com.shopee.id", "Shopee", false),
        KnownApp("com.shopeepay.id", "ShopeePay", false),
        KnownApp("com.bca", "BCA mobile", false),
        KnownApp("com.bca.mybca.omni.android", "myBCA", false),
        KnownApp("id.co.bri.brimo", "BRImo", false),
        KnownApp("id.bmri.livin", "Livin' by Mandiri", false),
        KnownApp("id.bni.wondr", "wondr by BNI", false),
        KnownApp("src.com.bni", "BNI Mobile", false),
        KnownApp("id.co.bankbkemobile.digitalbank", "SeaBank", false),
        KnownApp("com.jago.digitalBanking", "Bank Jago", false),
        KnownApp("com.bcadigital.blu", "blu by BCA Digital", false),
        KnownApp("com.btpn.dc", "Jenius", false),
    )

    /**
     * Every app to offer: the core's entries first (they carry grammars, and their default wins), then the
     * confirmed names the core has no grammar for yet (shown, off by default unless listed on above).
     */
    fun all(): List<KnownApp> {
        val fromCore = try {
            knownApps()
        } catch (e: Throwable) {
            emptyList()
        }
        val seen = fromCore.map { it.`package` }.toMutableSet()
        return fromCore + confirmed.filter { seen.add(it.`package`) }
    }

    fun defaultEnabled(): Set<String> = all().filter { it.defaultEnabled }.map { it.`package` }.toSet()
}
