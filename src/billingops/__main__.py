from billingops.entry import main

main()
